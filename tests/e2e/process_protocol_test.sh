#!/usr/bin/env bash
# The process-step protocol: shell and python steps hand values, files and metrics to the
# steps after them, and a failed attempt publishes nothing.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3

# --- Values, files, folders and metrics between shell steps, per foreach item too ----------
cat > "$WORK/etl.yaml" <<'YAML'
name: etl
steps:
  extract:
    operator: shell
    foreach: [eu, us]
    outputs: [rows]
    artifacts: [data.csv]
    with:
      shell: true
      command: |
        set -e
        printf 'region,n\n%s,%s\n' "{{ item }}" "$REEL_ITEM_INDEX" > "$REEL_ARTIFACTS_DIR/data.csv"
        mkdir -p "$REEL_ARTIFACTS_DIR/model/sub"
        echo weights > "$REEL_ARTIFACTS_DIR/model/w.bin"
        echo more > "$REEL_ARTIFACTS_DIR/model/sub/x.txt"
        printf '{"rows": %d, "env": {"run": "%s", "step": "%s", "attempt": "%s", "date": "%s", "home": "%s"}}' \
          $((REEL_ITEM_INDEX + 1)) "$REEL_RUN_ID" "$REEL_STEP" "$REEL_ATTEMPT" "$REEL_LOGICAL_DATE" "$REEL_HOME" > "$REEL_OUTPUTS"
        echo '{"key": "loss", "value": 0.5, "step": 1}' >> "$REEL_METRICS"
        echo '{"key": "loss", "value": 0.25, "step": 2}' >> "$REEL_METRICS"
  combine:
    operator: shell
    needs: [extract]
    with:
      command: [sh, -c, 'cat "$1" "$2" > "$REEL_ARTIFACTS_DIR/all.csv"; ls "$3" > "$REEL_ARTIFACTS_DIR/listing.txt"; echo "{\"total\": $((ROWS0 + ROWS1))}" > "$REEL_OUTPUTS"',
                combine, "{{ steps.extract.artifacts[0]['data.csv'] }}",
                "{{ steps.extract.artifacts[1]['data.csv'] }}", "{{ steps.extract.artifacts[0].model }}"]
      env:
        ROWS0: "{{ steps.extract.outputs[0].rows }}"
        ROWS1: "{{ steps.extract.outputs[1].rows }}"
  report:
    operator: shell
    needs: [combine]
    with:
      command: [sh, -c, 'test "$TOTAL" = 3 && grep -q eu "$1" && grep -q us "$1"', report,
                "{{ steps.combine.artifacts['all.csv'] }}"]
      env: {TOTAL: "{{ steps.combine.outputs.total }}"}
YAML
expect_exit 0 "$REEL" run "$WORK/etl.yaml" --date 2026-03-01
run_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_exit 0 "$REEL" show "$run_id" --json
echo "$OUT" | RUN="$run_id" HOME_DIR="$REEL_HOME" $PY -c '
import json, os, sys
run = json.load(sys.stdin)
run["artifacts"] = [dict(a, step=t["step"]) for t in run["tasks"] for a in t["artifacts"]]
run["metrics"] = [m for t in run["tasks"] for m in t["metrics"]]
tasks = {(t["step"], t["item_index"]): t for t in run["tasks"]}
e0, e1 = tasks[("extract", 0)], tasks[("extract", 1)]
assert e0["outputs"]["rows"] == 1 and e1["outputs"]["rows"] == 2, e0
assert e0["outputs"]["exit_code"] == 0
env = e0["outputs"]["env"]
assert env["run"] == os.environ["RUN"] and env["step"] == "extract", env
assert env["attempt"] == "1" and env["date"] == "2026-03-01", env
assert os.path.isabs(env["home"]) and os.path.samefile(env["home"], os.environ["HOME_DIR"]), env
assert tasks[("combine", -1)]["outputs"]["total"] == 3, tasks[("combine", -1)]
arts = {(a["step"], a["name"]) for a in run["artifacts"]}
for want in [("extract", "data.csv"), ("extract", "model"), ("combine", "all.csv"), ("combine", "listing.txt")]:
    assert want in arts, (want, arts)
losses = sorted((m["step"], m["value"]) for m in run["metrics"] if m["key"] == "loss")
assert losses == [(1, 0.5), (1, 0.5), (2, 0.25), (2, 0.25)], losses
'
# The folder artifact is stored whole and read-only; the next step saw its listing.
echo "$OUT" | HOME_DIR="$REEL_HOME" $PY -c '
import json, os, stat, sys
run = json.load(sys.stdin)
run["artifacts"] = [dict(a, step=t["step"]) for t in run["tasks"] for a in t["artifacts"]]
run["metrics"] = [m for t in run["tasks"] for m in t["metrics"]]
def path(name):
    uri = [a["uri"] for a in run["artifacts"] if a["name"] == name][0]
    hex = uri.split(":")[1]
    return os.path.join(os.environ["HOME_DIR"], "artifacts", hex[:2], hex[2:])
model = path("model")
assert os.path.isdir(model), model
assert open(os.path.join(model, "w.bin")).read() == "weights\n"
assert open(os.path.join(model, "sub", "x.txt")).read() == "more\n"
assert not os.stat(model).st_mode & stat.S_IWUSR, oct(os.stat(model).st_mode)
assert not os.stat(os.path.join(model, "w.bin")).st_mode & 0o222
assert open(path("listing.txt")).read().split() == ["sub", "w.bin"]
'

# --- A failed attempt publishes nothing; the retry that succeeds publishes its own ---------
cat > "$WORK/retry.yaml" <<'YAML'
name: retry
steps:
  flaky:
    operator: shell
    retries: 1
    retry_delay: 10ms
    with:
      shell: true
      command: |
        echo "attempt $REEL_ATTEMPT" > "$REEL_ARTIFACTS_DIR/a$REEL_ATTEMPT.txt"
        echo "{\"attempt\": $REEL_ATTEMPT, \"first\": $([ "$REEL_ATTEMPT" = 1 ] && echo true || echo false)}" > "$REEL_OUTPUTS"
        echo "{\"key\": \"m$REEL_ATTEMPT\", \"value\": 1}" > "$REEL_METRICS"
        test "$REEL_ATTEMPT" = 2
YAML
expect_exit 0 "$REEL" run "$WORK/retry.yaml"
run_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_exit 0 "$REEL" show "$run_id" --json
echo "$OUT" | $PY -c '
import json, sys
run = json.load(sys.stdin)
run["artifacts"] = [dict(a, step=t["step"]) for t in run["tasks"] for a in t["artifacts"]]
run["metrics"] = [m for t in run["tasks"] for m in t["metrics"]]
t = run["tasks"][0]
assert t["outputs"] == {"attempt": 2, "first": False, "exit_code": 0}, t["outputs"]
assert [a["name"] for a in run["artifacts"]] == ["a2.txt"], run["artifacts"]
assert [m["key"] for m in run["metrics"]] == ["m2"], run["metrics"]
'

# --- Malformed channels fail the step with a message naming it and the channel ------------
bad() {  # bad NAME SCRIPT EXPECTED
  cat > "$WORK/bad.yaml" <<YAML
name: bad
steps:
  $1:
    operator: shell
    with: {shell: true, command: '$2'}
  after:
    operator: noop
    needs: [$1]
YAML
  expect_exit 1 "$REEL" run "$WORK/bad.yaml"
  local id
  id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
  expect_exit 0 "$REEL" show "$id" --json
  expect_contains "$OUT" "$3"
  echo "$OUT" | $PY -c '
import json, sys
run = json.load(sys.stdin)
run["artifacts"] = [dict(a, step=t["step"]) for t in run["tasks"] for a in t["artifacts"]]
run["metrics"] = [m for t in run["tasks"] for m in t["metrics"]]
assert run["artifacts"] == [] and run["metrics"] == [], run
t = [t for t in run["tasks"] if t["step"] != "after"][0]
assert t["status"] == "failed", t
'
}
bad list_out 'echo "[1, 2]" > $REEL_OUTPUTS; echo x > $REEL_ARTIFACTS_DIR/f' \
  "step 'list_out': \$REEL_OUTPUTS holds a list, not a JSON object"
bad not_json 'echo "{rows: 3" > $REEL_OUTPUTS' "step 'not_json': "
bad reserved 'echo "{\"exit_code\": 3}" > $REEL_OUTPUTS' "sets 'exit_code', which reel sets itself"
bad bad_metric 'echo "{\"key\": \"loss\", \"vaule\": 1}" > $REEL_METRICS' \
  "\$REEL_METRICS line 1: unknown field 'vaule'"
bad nan_metric 'echo "{\"key\": \"loss\", \"value\": \"x\"}" > $REEL_METRICS' \
  "must be a finite number"
bad deep 'printf "{\"a\": %s1%s}" "$(printf "[%.0s" $(seq 100))" "$(printf "]%.0s" $(seq 100))" > $REEL_OUTPUTS' \
  "nests deeper than 64 levels"
bad latin1 'printf "{\"a\": \"\\351\"}" > $REEL_OUTPUTS' "is not valid UTF-8"
bad link 'ln -s /etc/passwd $REEL_ARTIFACTS_DIR/pw' "is a symbolic link"

# A declared output or artifact the process did not produce fails the step.
cat > "$WORK/declared.yaml" <<'YAML'
name: declared
steps:
  promised:
    operator: shell
    outputs: [rows]
    with: {command: ["true"]}
  promised_file:
    operator: shell
    artifacts: [model.pt]
    with: {command: ["true"]}
YAML
expect_exit 1 "$REEL" run "$WORK/declared.yaml"
id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_exit 0 "$REEL" show "$id" --json
expect_contains "$OUT" "step 'promised' declares output 'rows' but its process did not write it to \$REEL_OUTPUTS"
expect_contains "$OUT" "step 'promised_file' declares artifact 'model.pt' but its process left no 'model.pt'"

# --- Python steps with reel_step, around a built-in operator --------------------------------
mkdir -p "$WORK/py"
cat > "$WORK/py/make.py" <<'PY'
import sys
import reel_step
rows = int(sys.argv[1]) * int(sys.argv[2])
with open("data.txt", "w") as f:
    f.write("x" * rows)
reel_step.artifact("data.txt")
reel_step.output("rows", rows)
for epoch in range(3):
    reel_step.metric("loss", 1.0 / (epoch + 1), step=epoch)
print("made", rows, "rows")
PY
cat > "$WORK/py/use.py" <<'PY'
import os
import reel_step
rows = reel_step.input("make", "rows")
path = reel_step.input_artifact("make", "data.txt")
assert len(open(path).read()) == rows
assert reel_step.input("pause") == {}
os.makedirs("out/model", exist_ok=True)
open("out/model/w.txt", "w").write(str(rows))
reel_step.artifact("out/model")
reel_step.output("checked", True)
assert reel_step.step() == "use" and reel_step.attempt() == 1
PY
cat > "$WORK/py/flow.yaml" <<'YAML'
name: pyflow
params:
  scale: {type: int, default: 2}
steps:
  make:
    operator: python
    with: {script: make.py, args: [3, "{{ params.scale }}"], cwd: "{{ env.WORKDIR }}"}
  pause:
    operator: sleep
    needs: [make]
    with: {seconds: 0}
  use:
    operator: python
    needs: [pause, make]
    with: {script: use.py, cwd: "{{ env.WORKDIR }}"}
YAML
mkdir -p "$WORK/cwd"
WORKDIR="$WORK/cwd" expect_exit 0 "$REEL" run "$WORK/py/flow.yaml"
run_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_exit 0 "$REEL" show "$run_id" --json
echo "$OUT" | $PY -c '
import json, sys
run = json.load(sys.stdin)
run["artifacts"] = [dict(a, step=t["step"]) for t in run["tasks"] for a in t["artifacts"]]
run["metrics"] = [m for t in run["tasks"] for m in t["metrics"]]
tasks = {t["step"]: t for t in run["tasks"]}
assert tasks["make"]["outputs"]["rows"] == 6, tasks["make"]
assert tasks["use"]["outputs"]["checked"] is True, tasks["use"]
assert {a["name"] for a in run["artifacts"]} == {"data.txt", "model"}, run["artifacts"]
assert [m["step"] for m in run["metrics"] if m["key"] == "loss"] == [0, 1, 2], run["metrics"]
'
expect_exit 0 "$REEL" logs "$run_id" make
expect_contains "$OUT" "made 6 rows"

# A module next to the workflow file runs with -m.
cat > "$WORK/py/mymod.py" <<'PY'
import sys
import reel_step
reel_step.output("argv", sys.argv[1:])
PY
cat > "$WORK/py/mod.yaml" <<'YAML'
name: pymod
steps:
  m:
    operator: python
    with: {module: mymod, args: [a, 2]}
YAML
expect_exit 0 "$REEL" run "$WORK/py/mod.yaml"
expect_exit 0 "$REEL" show "$(awk 'NR == 1 {print $2}' <<<"$OUT")" --json
expect_contains "$OUT" '"argv": ['
echo "$OUT" | $PY -c '
import json, sys
assert json.load(sys.stdin)["tasks"][0]["outputs"]["argv"] == ["a", "2"]
'

# A missing script fails before anything runs, naming where it looked.
sed -i 's/script: make.py/script: nosuch.py/' "$WORK/py/flow.yaml"
WORKDIR="$WORK/cwd" expect_exit 1 "$REEL" run "$WORK/py/flow.yaml"
expect_exit 0 "$REEL" show "$(awk 'NR == 1 {print $2}' <<<"$OUT")" --json
expect_contains "$OUT" "python: script 'nosuch.py' not found"
