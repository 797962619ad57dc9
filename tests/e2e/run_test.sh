#!/usr/bin/env bash
# reel run / runs / show / logs / resume on real workflows.
source "$(dirname "$0")/lib.sh"

expect_exit 0 "$REEL" run "$REEL_SOURCE_DIR/examples/workflows/hello.yaml" --date 2026-11-28
expect_contains "$OUT" "succeeded"
expect_contains "$OUT" "publish"
run_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")

expect_exit 0 "$REEL" runs --json
echo "$OUT" | /usr/bin/python3 -c '
import json, sys
runs = json.load(sys.stdin)
assert len(runs) == 1, runs
r = runs[0]
for k in ("run_id", "workflow", "status", "logical_date", "started_at", "ended_at"):
    assert k in r, k
assert r["status"] == "succeeded" and r["logical_date"] == "2026-11-28", r
'
expect_exit 0 "$REEL" show "$run_id" --json
echo "$OUT" | /usr/bin/python3 -c '
import json, sys
run = json.load(sys.stdin)
tasks = {(t["step"], t["item_index"]): t for t in run["tasks"]}
assert tasks[("train", 0)]["item"] == 0.01, tasks
assert tasks[("train", 1)]["item"] == 0.03
assert tasks[("publish", -1)]["status"] == "skipped"
assert all(t["status"] in ("succeeded", "skipped") for t in run["tasks"])
for t in run["tasks"]:
    for k in ("step", "item", "status", "attempts", "outputs"):
        assert k in t, k
'
expect_exit 0 "$REEL" show "${run_id:0:18}"
expect_contains "$OUT" "train[1]"

# A param of the wrong type or an unknown one: exit 2, nothing run.
expect_exit 2 "$REEL" run "$REEL_SOURCE_DIR/examples/workflows/hello.yaml" -p pause=soon
expect_contains "$ERR" "param 'pause' expects a float"
expect_exit 2 "$REEL" run "$REEL_SOURCE_DIR/examples/workflows/hello.yaml" -p pauze=1
expect_contains "$ERR" "did you mean 'pause'"
expect_exit 1 "$REEL" show nosuchrun
expect_contains "$ERR" "nosuchrun"

# A failing step: exit 1, upstream_failed downstream, independent branch still finishes.
cat > "$WORK/fail.yaml" <<'YAML'
name: failing
steps:
  ok_branch: {operator: sleep, with: {seconds: 0.2}}
  count:
    operator: shell
    with: {command: [sh, -c, 'echo ran >> "$0"', "{{ env.COUNT_FILE }}"]}
  flaky:
    operator: shell
    needs: [count]
    retries: 1
    retry_delay: 100ms
    with: {command: [sh, -c, 'test -e "$0" || { echo "marker missing" >&2; exit 3; }', "{{ env.MARKER }}"]}
  after:
    operator: noop
    needs: [flaky]
YAML
export COUNT_FILE="$WORK/count" MARKER="$WORK/marker"
expect_exit 1 "$REEL" run "$WORK/fail.yaml"
fail_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_contains "$OUT" "upstream_failed"
expect_contains "$ERR" "exited with code 3"
expect_exit 0 "$REEL" show "$fail_id" --json
echo "$OUT" | /usr/bin/python3 -c '
import json, sys
run = json.load(sys.stdin)
t = {x["step"]: x for x in run["tasks"]}
assert t["flaky"]["status"] == "failed" and len(t["flaky"]["attempts"]) == 2, t["flaky"]
assert t["flaky"]["attempts"][0]["exit_code"] == 3
assert t["after"]["status"] == "upstream_failed"
assert t["ok_branch"]["status"] == "succeeded"
'
expect_exit 0 "$REEL" logs "$fail_id" flaky
expect_contains "$OUT" "marker missing"
[[ $(wc -l < "$COUNT_FILE") == 1 ]] || fail "count ran more than once"

# Resume: the succeeded tasks are reused, not executed again.
touch "$MARKER"
expect_exit 0 "$REEL" resume "$fail_id"
expect_contains "$OUT" "(reused)"
[[ $(wc -l < "$COUNT_FILE") == 1 ]] || fail "resume re-ran a step that had succeeded"
expect_exit 0 "$REEL" runs --status succeeded --workflow failing --json
expect_contains "$OUT" "\"origin_run_id\": \"$fail_id\""

# --from re-runs a succeeded step and everything after it.
expect_exit 0 "$REEL" resume "$fail_id" --from count
[[ $(wc -l < "$COUNT_FILE") == 2 ]] || fail "--from count did not re-run count"
# Logs: a process's output is copied with secrets redacted; a silent step leaves no log file.
cat > "$WORK/logs.yaml" <<'YAML'
name: logs
steps:
  quiet: {operator: shell, with: {command: ["true"]}}
  loud:
    operator: shell
    with:
      command: [sh, -c, 'echo "token=$1"; echo done >&2', sh, "{{ secrets.api_token }}"]
YAML
REEL_SECRET_api_token=tok-93e1f0c7 expect_exit 0 "$REEL" run "$WORK/logs.yaml"
logs_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_exit 0 "$REEL" logs "$logs_id" loud
expect_contains "$OUT" "running: sh -c"
expect_contains "$OUT" "token=***"
expect_contains "$OUT" "done"
expect_not_contains "$OUT" "tok-93e1f0c7"
expect_exit 0 "$REEL" logs "$logs_id" quiet
expect_contains "$OUT" "== step quiet, attempt 1 (succeeded) =="
expect_contains "$OUT" "(no output)"
expect_exit 0 "$REEL" logs "$logs_id" quiet --attempt 1
[[ -z "$OUT" ]] || fail "a silent step printed a log: $OUT"
expect_contains "$ERR" "wrote no output"
[[ ! -e "$REEL_HOME/logs/$logs_id/quiet" ]] || fail "a silent step left a log folder"
expect_exit 0 "$REEL" logs "$logs_id"
expect_contains "$OUT" "(no output)"
# A wide fan-out of commands is not capped by a low soft limit on open files: each running
# command holds two descriptors in the engine, which raises the limit to the hard one.
if (( $(ulimit -Hn) >= 1024 )); then
  { echo "name: wide"; echo "steps:";
    for i in $(seq 300); do echo "  w$i: {operator: shell, with: {command: [sleep, \"1\"]}}"; done
  } > "$WORK/wide.yaml"
  (ulimit -Sn 256; expect_exit 0 "$REEL" run "$WORK/wide.yaml" --max-parallel 300 --cpus 300)
fi
echo "run: ok"
