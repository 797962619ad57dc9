#!/usr/bin/env bash
# cache: true reuses earlier results with the same key; reel explain says why a key changed.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

mkdir -p "$WORK/flow"
echo "v1" > "$WORK/flow/data.txt"
cat > "$WORK/flow/report.py" <<'PY'
import sys
import reel_step
with open(sys.argv[1], "a") as f:
    f.write("report\n")
reel_step.output("seen", reel_step.input("scale", "value"))
PY
cat > "$WORK/flow/flow.yaml" <<'YAML'
name: cached
params:
  x: {type: int, default: 1}
  y: {type: int, default: 1}
defaults: {cache: true}
steps:
  load:
    operator: shell
    inputs: [data.txt]
    with:
      command: [sh, -c, 'echo load >> "$1"; echo "{\"value\": $2}" > "$REEL_OUTPUTS"; cp "$3" "$REEL_ARTIFACTS_DIR/copy.txt"',
                load, "{{ env.COUNT }}", "{{ params.x }}", "{{ env.DATA }}"]
      env: {TOKEN: "{{ secrets.TOKEN }}"}
  scale:
    operator: shell
    needs: [load]
    with:
      command: [sh, -c, 'echo scale >> "$1"; echo "{\"value\": $(($2 * $3))}" > "$REEL_OUTPUTS"',
                scale, "{{ env.COUNT }}", "{{ steps.load.outputs.value }}", "{{ params.y }}"]
  report:
    operator: python
    needs: [scale]
    with: {script: report.py, args: ["{{ env.COUNT }}"]}
  always:
    operator: shell
    cache: false
    with: {command: [sh, -c, 'echo always >> "$1"', always, "{{ env.COUNT }}"]}
YAML
export COUNT="$WORK/count" DATA="$WORK/flow/data.txt" REEL_SECRET_TOKEN="hunter2-secret"
run() {  # run ARGS...: runs the workflow, sets RUN and COUNTED (the steps that ran)
  : > "$COUNT"
  expect_exit 0 "$REEL" run "$WORK/flow/flow.yaml" "$@"
  RUN=$(awk 'NR == 1 {print $2}' <<<"$OUT")
  COUNTED=$(sort "$COUNT" | tr '\n' ' ')
}

run
[[ "$COUNTED" == "always load report scale " ]] || fail "first run ran: $COUNTED"
first=$RUN

# Nothing changed: every cached step is reused, with its outputs and artifacts.
run
[[ "$COUNTED" == "always " ]] || fail "second run ran: $COUNTED"
expect_exit 0 "$REEL" show "$RUN" --json
echo "$OUT" | FIRST="$first" $PY -c '
import json, os, sys
run = json.load(sys.stdin)
tasks = {t["step"]: t for t in run["tasks"]}
for step in ("load", "scale", "report"):
    c = tasks[step]["cache"]
    assert c["hit"] is True and c["from_run"] == os.environ["FIRST"], (step, c)
    assert c["key"].startswith("sha256:"), c
    assert tasks[step]["status"] == "succeeded"
assert "cache" not in tasks["always"], tasks["always"]
assert tasks["report"]["outputs"]["seen"] == 1, tasks["report"]
assert [a["name"] for a in tasks["load"]["artifacts"]] == ["copy.txt"], tasks["load"]
'
expect_exit 0 "$REEL" show "$RUN"
expect_contains "$OUT" "(cached: run $first)"
expect_exit 0 "$REEL" explain "$RUN" load
expect_contains "$OUT" "load: cache hit (the result of run $first)"

# One param changes: exactly the steps whose key reads it (and what reads their outputs) run.
run -p y=2
[[ "$COUNTED" == "always report scale " ]] || fail "y=2 ran: $COUNTED"
expect_exit 0 "$REEL" explain "$RUN" scale
expect_contains "$OUT" "scale: cache miss"
expect_contains "$OUT" "param 'y' changed: 1 -> 2"
expect_exit 0 "$REEL" explain "$RUN" report --json
echo "$OUT" | $PY -c '
import json, sys
out = json.load(sys.stdin)
t = out["tasks"][0]
assert t["hit"] is False, t
whats = [d["what"] for d in t["differences"]]
assert "output '"'"'value'"'"' of upstream step '"'"'scale'"'"'" in whats, whats
'

# A declared input file changes: the step that declares it runs again, and so does the process
# step after it, which could read load's new artifact; report, whose inputs are unchanged, not.
echo "v2" > "$WORK/flow/data.txt"
run -p y=2
[[ "$COUNTED" == "always load scale " ]] || fail "data change ran: $COUNTED"
expect_exit 0 "$REEL" explain "$RUN" load
expect_contains "$OUT" "input file 'data.txt' changed"
expect_exit 0 "$REEL" explain "$RUN" scale
expect_contains "$OUT" "artifact 'copy.txt' of upstream step 'load' changed"

# The script changes: the python step runs again.
echo "# edited" >> "$WORK/flow/report.py"
run -p y=2
[[ "$COUNTED" == "always report " ]] || fail "script change ran: $COUNTED"
expect_exit 0 "$REEL" explain "$RUN" report
expect_contains "$OUT" "report.py' changed"

# --no-cache runs everything, and records keys.
run -p y=2 --no-cache
[[ "$COUNTED" == "always load report scale " ]] || fail "--no-cache ran: $COUNTED"

# A secret is in the key by name only, never by value.
expect_exit 0 "$REEL" explain "$RUN" load --json
expect_contains "$OUT" "<secret TOKEN>"
expect_not_contains "$OUT" "hunter2"
$PY -c '
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT cache_parts FROM tasks").fetchall()
assert not any("hunter2" in (r[0] or "") for r in rows), "a secret value reached reel.db"
' "$REEL_HOME/reel.db"

# A failed task is never lent: its key is recorded but the next run executes again.
cat > "$WORK/flow/fail.yaml" <<'YAML'
name: cached_fail
steps:
  flaky:
    operator: shell
    cache: true
    with: {command: [sh, -c, 'echo run >> "$1"; test -e "$2"', flaky, "{{ env.COUNT }}", "{{ env.MARKER }}"]}
YAML
: > "$COUNT"
MARKER="$WORK/marker" expect_exit 1 "$REEL" run "$WORK/flow/fail.yaml"
touch "$WORK/marker"
MARKER="$WORK/marker" expect_exit 0 "$REEL" run "$WORK/flow/fail.yaml"
[[ "$(wc -l < "$COUNT")" == 2 ]] || fail "the failed task was reused"
MARKER="$WORK/marker" expect_exit 0 "$REEL" run "$WORK/flow/fail.yaml"
[[ "$(wc -l < "$COUNT")" == 2 ]] || fail "the succeeded task was not reused"

# A step without cache: explain says how to turn it on.
expect_exit 0 "$REEL" explain "$first" always
expect_contains "$OUT" "does not use the cache"
expect_exit 1 "$REEL" explain "$first" lod
expect_contains "$ERR" "did you mean 'load'"

# Templates in inputs: are validated like any other.
cat > "$WORK/flow/bad_inputs.yaml" <<'YAML'
name: bad_inputs
params:
  data: {type: string, default: x.csv}
steps:
  a:
    operator: noop
    cache: true
    inputs: ["{{ params.dta }}"]
YAML
expect_exit 2 "$REEL" validate "$WORK/flow/bad_inputs.yaml"
expect_contains "$ERR" "bad_inputs.yaml:8:"
expect_contains "$ERR" "did you mean 'data'"
