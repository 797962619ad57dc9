#!/usr/bin/env bash
# reel run FILE --only STEP[,STEP...] [--from-run RUN]: only the selected steps run, their
# upstream results reused from an earlier run; every other step is skipped.
source "$(dirname "$0")/lib.sh"

export LOG="$WORK/log"
cat > "$WORK/wf.yaml" <<'YAML'
name: only
params:
  tag: {type: string, default: first}
steps:
  extract:
    operator: shell
    with: {command: [sh, -c, 'echo extract >> "$0"', "{{ env.LOG }}"]}
  transform:
    operator: shell
    needs: [extract]
    with:
      command: [sh, -c, 'echo "transform $1 $2" >> "$0"; test "$1" != fail',
                "{{ env.LOG }}", "{{ params.tag }}", "{{ steps.extract.outputs.exit_code }}"]
  load:
    operator: shell
    needs: [transform]
    with: {command: [sh, -c, 'echo load >> "$0"', "{{ env.LOG }}"]}
  other:
    operator: shell
    with: {command: [sh, -c, 'echo other >> "$0"', "{{ env.LOG }}"]}
YAML

# An unknown step: exit 2 with a "did you mean", before the home is touched.
expect_exit 2 "$REEL" run "$WORK/wf.yaml" --only trasform
expect_contains "$ERR" "--only: workflow 'only' has no step 'trasform'; did you mean 'transform'?"
[[ ! -e "$REEL_HOME" ]] || fail "an unknown --only step wrote into the home"
# --from-run needs --only.
expect_exit 2 "$REEL" run "$WORK/wf.yaml" --from-run abc
# No succeeded run to take the upstream results from: exit 1, nothing run.
expect_exit 1 "$REEL" run "$WORK/wf.yaml" --only transform
expect_contains "$ERR" "workflow 'only' has no succeeded run to take the upstream results from"
[[ ! -e "$LOG" ]] || fail "a step ran without a run to reuse"

expect_exit 0 "$REEL" run "$WORK/wf.yaml" -p tag=second
full=$(awk 'NR == 1 {print $2}' <<<"$OUT")
rm "$LOG"

# Only transform runs, with extract's outputs and the params of the latest succeeded run.
expect_exit 0 "$REEL" run "$WORK/wf.yaml" --only transform
expect_contains "$ERR" "reused from run $full"
only=$(awk 'NR == 1 {print $2}' <<<"$OUT")
[[ "$(cat "$LOG")" == "transform second 0" ]] || fail "--only transform ran: $(cat "$LOG")"
expect_exit 0 "$REEL" show "$only" --json
echo "$OUT" | /usr/bin/python3 -c '
import json, sys
run = json.load(sys.stdin)
assert run["status"] == "succeeded", run
assert run["trigger"] == "manual" and run["origin_run_id"] == sys.argv[1], run
tasks = {t["step"]: t for t in run["tasks"]}
assert tasks["extract"]["status"] == "succeeded" and tasks["extract"]["reused_from"], tasks
assert tasks["extract"]["outputs"] == {"exit_code": 0}, tasks
assert tasks["transform"]["status"] == "succeeded" and not tasks["transform"]["reused_from"]
for step in ("load", "other"):
    assert tasks[step]["status"] == "skipped", tasks[step]
    assert tasks[step]["error"] == "not selected (--only)", tasks[step]
' "$full"

# Two selected steps that depend on each other run in order; the run named by --from-run
# (here a run of --only itself) supplies what they need.
rm "$LOG"
expect_exit 0 "$REEL" run "$WORK/wf.yaml" --only load,transform --from-run "$only" -p tag=third
[[ "$(cat "$LOG")" == $'transform third 0\nload' ]] || fail "--only load,transform: $(cat "$LOG")"

# A run where transform failed cannot feed load; it can feed transform itself.
expect_exit 1 "$REEL" run "$WORK/wf.yaml" -p tag=fail
failed=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_exit 1 "$REEL" run "$WORK/wf.yaml" --only load --from-run "$failed"
expect_contains "$ERR" "step 'transform', upstream of the selected steps, did not succeed in run $failed (it is failed there): add it to --only, or pick another run with --from-run"
rm "$LOG"
expect_exit 0 "$REEL" run "$WORK/wf.yaml" --only transform --from-run "$failed" -p tag=fixed
[[ "$(cat "$LOG")" == "transform fixed 0" ]] || fail "--only transform: $(cat "$LOG")"

# A selected step that fails fails the run, and the steps after it stay skipped.
expect_exit 1 "$REEL" run "$WORK/wf.yaml" --only transform -p tag=fail
expect_exit 0 "$REEL" show "$(awk 'NR == 1 {print $2}' <<<"$OUT")" --json
echo "$OUT" | /usr/bin/python3 -c '
import json, sys
tasks = {t["step"]: t for t in json.load(sys.stdin)["tasks"]}
assert tasks["transform"]["status"] == "failed", tasks
assert tasks["load"]["status"] == "skipped", tasks
'

# --from-run naming no run is a usage error.
expect_exit 2 "$REEL" run "$WORK/wf.yaml" --only transform --from-run nosuchrun
expect_contains "$ERR" "--from-run"
echo "run_only: ok"
