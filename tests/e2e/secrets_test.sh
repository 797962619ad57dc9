#!/usr/bin/env bash
# Secrets appear nowhere but in the process of the step that uses them: not in a log, reel.db,
# `reel show` (text or JSON), stderr, another step's environment, or a foreach task's item.
source "$(dirname "$0")/lib.sh"

# Each secret holds a marker found nowhere else.
export REEL_SECRET_quoted="it's-QMARK7a"
export REEL_SECRET_long="STRADDLEb9c4d2e1f0"
export REEL_SECRET_other="UNUSEDMARK3f"
export REEL_SECRET_item="ITEMMARK5e"

# expect_nowhere RUN_ID MARKER...: not in the last command's output, nor in `reel show`,
# `show --json`, `reel logs`, or any file of the home (reel.db and its WAL included).
expect_nowhere() {
  local run_id="$1"
  shift
  "$REEL" show "$run_id" >"$WORK/show.txt" 2>&1 || true
  "$REEL" show "$run_id" --json >"$WORK/show.json" 2>&1 || true
  "$REEL" logs "$run_id" >"$WORK/logs.txt" 2>&1 || true
  for marker in "$@"; do
    for f in "$WORK/stdout" "$WORK/stderr" "$WORK/show.txt" "$WORK/show.json" "$WORK/logs.txt"; do
      if grep -qa -- "$marker" "$f"; then
        cat "$f" >&2
        fail "$marker leaked into $(basename "$f")"
      fi
    done
    if grep -rqa -- "$marker" "$REEL_HOME"; then
      grep -rla -- "$marker" "$REEL_HOME" >&2
      fail "$marker leaked into the home"
    fi
  done
}

# 1. A secret with a quote is shell-quoted in the log's `running:` line and in the failure
#    message; 2. a `shell: true` command is cut at 80 characters in the failure message, through
#    the middle of a secret.
pad=$(printf 'x%.0s' $(seq 1 64))
cat > "$WORK/fail.yaml" <<YAML
name: secret_failures
steps:
  quoted:
    operator: shell
    with: {command: [sh, -c, 'echo "using \$1"; exit 3', sh, "{{ secrets.quoted }}"]}
    catch: true
  long:
    operator: shell
    with: {shell: true, command: "echo $pad {{ secrets.long }}; exit 4"}
YAML
expect_exit 1 "$REEL" run "$WORK/fail.yaml"
run_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_contains "$ERR" "exited with code 4"
expect_nowhere "$run_id" QMARK7a STRADDL
expect_exit 0 "$REEL" logs "$run_id" quoted
expect_contains "$OUT" "running: sh -c 'echo \"using \$1\"; exit 3' sh '***'"
expect_contains "$OUT" "using ***"

# 3. A step gets only the secrets it references: `env` shows neither another step's secret nor
#    one no step uses; `{{ env.REEL_SECRET_X }}` is a secret like `{{ secrets.X }}`.
cat > "$WORK/env.yaml" <<'YAML'
name: secret_env
steps:
  dump: {operator: shell, with: {command: [sh, -c, env]}}
  uses:
    operator: shell
    with:
      command: [sh, -c, 'echo "arg=$1 env=${REEL_SECRET_quoted:-unset} other=${REEL_SECRET_other:-unset}"', sh, "{{ secrets.quoted }}"]
  through_env:
    operator: shell
    with: {command: [echo, "token={{ env.REEL_SECRET_long }}"]}
YAML
expect_exit 0 "$REEL" run "$WORK/env.yaml"
run_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_nowhere "$run_id" QMARK7a STRADDL UNUSEDMARK3f
expect_exit 0 "$REEL" logs "$run_id" dump
expect_not_contains "$OUT" "REEL_SECRET_"
expect_exit 0 "$REEL" logs "$run_id" uses
expect_contains "$OUT" "arg=*** env=*** other=unset"
expect_exit 0 "$REEL" logs "$run_id" through_env
expect_contains "$OUT" "token=***"

# 4. foreach over a secret: the task's item is stored redacted, and its log and the run's
#    output do not show it; an item without a secret is kept as it is.
cat > "$WORK/foreach.yaml" <<'YAML'
name: secret_foreach
steps:
  each:
    operator: shell
    foreach: ["{{ secrets.item }}", "plain-item"]
    with: {command: [sh, -c, 'echo "item=$1"; test "$1" = plain-item', sh, "{{ item | upper }}"]}
YAML
expect_exit 1 "$REEL" run "$WORK/foreach.yaml"
run_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_nowhere "$run_id" ITEMMARK5e ITEMMARK5E
expect_exit 0 "$REEL" show "$run_id" --json
expect_contains "$OUT" '"item": "***"'
expect_contains "$OUT" '"item": "plain-item"'
expect_exit 0 "$REEL" logs "$run_id" each
expect_contains "$OUT" "item=***"
expect_contains "$OUT" "item=PLAIN-ITEM"
echo "secrets: ok"
