#!/usr/bin/env bash
# Hostile input (bytes that are not UTF-8, deep nesting, oversized names, NUL bytes, huge
# numbers) gets a clear error and never crashes reel or damages the run history.
source "$(dirname "$0")/lib.sh"

json_ok() { /usr/bin/python3 -c 'import json, sys; json.load(sys.stdin)'; }

# A failing step whose output is not UTF-8: the error quotes it, repaired with U+FFFD, and
# every JSON view of the history still works.
cat >"$WORK/latin1.yaml" <<'YAML'
name: latin1
steps:
  boom:
    operator: shell
    with:
      command: [sh, -c, "printf 'bad \\377\\376 bytes\\n'; exit 3"]
YAML
expect_exit 1 "$REEL" run "$WORK/latin1.yaml"
run_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_exit 0 "$REEL" runs --json
echo "$OUT" | json_ok
expect_contains "$OUT" "bad ��"
expect_exit 0 "$REEL" show "$run_id" --json
echo "$OUT" | json_ok
expect_contains "$OUT" "bad ��"

# Facts from a CSV source in another encoding are stored as UTF-8, repaired; the bad value's
# error quotes it repaired too.
printf 'user,name,t\n1,Jos\xe9,2024-01-01T10:00:00Z\n2,x\xff\xfe,2024-01-01T11:00:00Z\n' \
  >"$WORK/latin1.csv"
cat >"$WORK/facts.yaml" <<YAML
name: latin1_facts
steps:
  load:
    operator: fact_snapshot
    with:
      source: $WORK/latin1.csv
      table: people
      timestamp: {column: t, format: iso8601}
      ds: "2024-01-01"
YAML
expect_exit 0 "$REEL" run "$WORK/facts.yaml" --date 2024-01-02
expect_exit 0 "$REEL" facts as-of people 2024-01-02 --json
echo "$OUT" | json_ok
expect_contains "$OUT" "Jos�"
expect_contains "$OUT" "x��"

# A JSON Lines fact nested 100,000 deep fails the step with its line, not the process.
python3 -c "
print('{\"user\": 1, \"t\": \"2024-01-01T10:00:00Z\", \"v\": 0}')
print('{\"user\": 2, \"t\": \"2024-01-01T10:00:00Z\", \"v\": ' + '[' * 100000 + ']' * 100000 + '}')
" >"$WORK/deep.jsonl"
cat >"$WORK/deep.yaml" <<YAML
name: deep_facts
steps:
  load:
    operator: fact_snapshot
    with:
      source: $WORK/deep.jsonl
      table: deep
      timestamp: {column: t, format: iso8601}
      ds: "2024-01-01"
YAML
expect_exit 1 "$REEL" run "$WORK/deep.yaml" --date 2024-01-02
expect_contains "$OUT$ERR" "deep.jsonl"
expect_contains "$OUT$ERR" "line 2: the record nests deeper than 256 levels"
# ... also as the first record, which names the columns.
tail -1 "$WORK/deep.jsonl" >"$WORK/deep1.jsonl"
sed -i "s|$WORK/deep.jsonl|$WORK/deep1.jsonl|" "$WORK/deep.yaml"
expect_exit 1 "$REEL" run "$WORK/deep.yaml" --date 2024-01-02
expect_contains "$OUT$ERR" "deep1.jsonl: line 1: the record nests deeper than 256 levels"
expect_exit 0 "$REEL" runs --json
echo "$OUT" | json_ok
# A list param given as JSON is bounded the same way.
cat >"$WORK/list.yaml" <<'YAML'
name: list_param
params:
  xs: {type: list, default: []}
steps:
  a: {operator: noop}
YAML
expect_exit 2 "$REEL" run "$WORK/list.yaml" -p "xs=$(python3 -c "print('[' * 60000 + ']' * 60000)")"
expect_contains "$ERR" "param 'xs' nests deeper than 256 levels"

# A step name too long to name a folder is refused at validation, with its position.
long=$(printf 's%.0s' $(seq 1 256))
printf 'name: long_step\nsteps:\n  %s:\n    operator: noop\n' "$long" >"$WORK/long.yaml"
expect_exit 2 "$REEL" validate "$WORK/long.yaml"
expect_contains "$ERR" "long.yaml:3:3"
expect_contains "$ERR" "is 256 characters long; the limit is 200"

# Output that cannot reach its log fails the attempt with the reason instead of vanishing.
printf 'name: nolog\nsteps:\n  talk:\n    operator: shell\n    with: {command: [echo, hello]}\n' \
  >"$WORK/nolog.yaml"
export REEL_HOME="$WORK/nolog-home"
mkdir -p "$REEL_HOME"
echo "not a folder" >"$REEL_HOME/logs"
expect_exit 1 "$REEL" run "$WORK/nolog.yaml"
expect_contains "$OUT$ERR" "cannot create the attempt's log"
export REEL_HOME="$WORK/home"

# Settings that cannot work are refused at validation, with their position.
cat >"$WORK/settings.yaml" <<'YAML'
name: settings
steps:
  empty:
    operator: shell
    with: {command: []}
  negative:
    operator: shell
    with: {command: [true], kill_grace: -1}
YAML
expect_exit 2 "$REEL" validate "$WORK/settings.yaml"
expect_contains "$ERR" "settings.yaml:5:21: error: setting 'command' of operator 'shell' must not be empty"
expect_contains "$ERR" "settings.yaml:8:41: error: setting 'kill_grace' of operator 'shell' must be duration (>= 0), got -1"

# A NUL byte in an argv entry fails the step instead of being cut off there.
cat >"$WORK/nul.yaml" <<'YAML'
name: nul
steps:
  say: {operator: shell, with: {command: [echo, "a\0b"]}}
YAML
expect_exit 1 "$REEL" run "$WORK/nul.yaml"
expect_contains "$OUT$ERR" "argument 1 of 'echo' holds a NUL byte"

# A sleep longer than any clock counts is an error, not an instant return.
cat >"$WORK/sleep.yaml" <<'YAML'
name: long_sleep
steps:
  nap: {operator: sleep, with: {seconds: 9e9}}
YAML
expect_exit 1 "$REEL" run "$WORK/sleep.yaml"
expect_contains "$OUT$ERR" "sleep: seconds must be between 0 and 3153600000 (100 years), got 9e+09"

# Numeric flags out of range say which range, not a 309-digit number.
expect_exit 2 "$REEL" run "$WORK/nul.yaml" --max-parallel 1e308
expect_contains "$ERR" "--max-parallel: expects a whole number from 1 to 100000, got '1e308'"
expect_exit 2 "$REEL" run "$WORK/nul.yaml" --cpus -1e308
expect_contains "$ERR" "--cpus: expects a number from 0.01 to 100000, got '-1e308'"
[[ ${#ERR} -lt 300 ]] || fail "error too long: $ERR"
expect_exit 2 "$REEL" runs --limit 1e308
expect_contains "$ERR" "--limit: expects a whole number from 1 to 1000000"

# `reel logs` streams a log of any size through a fixed buffer: a 300 MB log prints whole in
# 100 MB of address space. (Sanitizer builds reserve far more address space: skipped there.)
if ! grep -qE '^REEL_SANITIZE:STRING=(address|thread)' "${REEL_BUILD_DIR:-/nonexistent}/CMakeCache.txt" 2>/dev/null; then
  printf 'name: big_log\nsteps:\n  talk: {operator: shell, with: {command: [echo, hi]}}\n' \
    >"$WORK/biglog.yaml"
  expect_exit 0 "$REEL" run "$WORK/biglog.yaml"
  run_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
  truncate -s 300M "$REEL_HOME/logs/$run_id/talk/1.log"
  bytes=$(ulimit -v 100000 && "$REEL" logs "$run_id" talk --attempt 1 | wc -c)
  [[ "$bytes" == 314572800 ]] || fail "reel logs printed $bytes bytes of a 314572800-byte log"
fi

# A log keeps at most --log-max-bytes and then says how much it dropped.
cat >"$WORK/chatty.yaml" <<'YAML'
name: chatty
steps:
  talk: {operator: shell, with: {command: [sh, -c, "head -c 5000 /dev/zero | tr '\\0' x"]}}
YAML
expect_exit 0 "$REEL" run "$WORK/chatty.yaml" --log-max-bytes 2048
run_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_exit 0 "$REEL" logs "$run_id" talk
expect_contains "$OUT" "reel: the log reached its limit of 2048 bytes;"
expect_contains "$OUT" "more bytes of output were dropped"
[[ $(wc -c <"$REEL_HOME/logs/$run_id/talk/1.log") -lt 2300 ]] || fail "the log was not capped"
# The same for a backfill's runs.
expect_exit 0 "$REEL" backfill "$WORK/chatty.yaml" --from 2026-01-01 --to 2026-01-01 --log-max-bytes 2048
expect_exit 0 "$REEL" runs --workflow chatty --json
run_id=$(echo "$OUT" | python3 -c 'import json,sys; print([r for r in json.load(sys.stdin) if r["trigger"] == "backfill"][0]["run_id"])')
[[ $(wc -c <"$REEL_HOME/logs/$run_id/talk/1.log") -lt 2300 ]] || fail "the backfill's log was not capped"
