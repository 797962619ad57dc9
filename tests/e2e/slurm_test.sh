#!/usr/bin/env bash
# The Slurm executor on a real single-node cluster (scripts/slurm-local): shell, python and
# built-in steps run as jobs and record their job ids; a foreach of 50 items is one job array;
# `kill -9` of reel while jobs run, then `reel resume`, submits no job twice (sacct -c); a job
# Slurm kills is a failed attempt with Slurm's state, retried; a step's timeout and
# `reel cancel` scancel the jobs; sbatch's refusals and bad settings are clear errors.
source "$(dirname "$0")/lib.sh"

start_slurm

py() { /usr/bin/python3 -c "$@"; }
latest_run() { "$REEL" runs --json | py 'import json,sys; print(json.load(sys.stdin)[0]["run_id"])'; }
# Jobs in the completion log whose name holds $1, one line each: "JOBID|NAME|STATE".
jobs_named() { sacct -c -n -P -o JobID,JobName,State 2>/dev/null | grep -F -- "$1" || true; }

# --- Every kind of step as a job ---------------------------------------------------------------
mkdir -p "$WORK/wf"
cat >"$WORK/wf/step.py" <<'EOF'
import os, reel_step
reel_step.output("node_job", os.environ.get("SLURM_JOB_ID", ""))
reel_step.metric("answer", 42)
with open(os.path.join(reel_step.artifact_dir(), "table"), "w") as f:
    f.write("a,b\n1,2\n")
EOF
cat >"$WORK/wf/mixed.yaml" <<'EOF'
name: mixed
steps:
  hello:
    operator: shell
    with:
      shell: true
      command: 'echo "in job $SLURM_JOB_ID"; echo "{\"n\": 3}" > "$REEL_OUTPUTS"'
  pyt:
    operator: python
    needs: [hello]
    with:
      script: step.py
  wait:
    operator: sleep
    needs: [pyt]
    with: {seconds: 0.1}
  fan:
    operator: shell
    needs: [hello, pyt]
    foreach: [ITEMS]
    resources: {max_parallel: 16}
    with:
      command: [sh, -c, 'echo "item {{ item }} n={{ steps.hello.outputs.n }}"; cat "{{ steps.pyt.artifacts.table }}" >/dev/null']
  done:
    operator: noop
    needs: [fan, wait]
EOF
sed -i "s/ITEMS/$(seq -s, 0 49)/" "$WORK/wf/mixed.yaml"
expect_exit 0 "$REEL" run "$WORK/wf/mixed.yaml" --executor slurm
RUN="$(latest_run)"
"$REEL" show "$RUN" --json >"$WORK/show.json"
py '
import json, sys
run = json.load(open(sys.argv[1]))
assert run["status"] == "succeeded", run["status"]
tasks = run["tasks"]
assert len(tasks) == 54, len(tasks)
for t in tasks:
    a = t["attempts"]
    assert len(a) == 1 and a[0]["executor"] == "slurm" and a[0]["job_id"], (t["step"], a)
    assert a[0]["job_state"] == "COMPLETED", a
by = {t["step"] + ("[%d]" % t["item_index"] if t["item_index"] >= 0 else ""): t for t in tasks}
# the python step ran in its job, and what it reported came back
assert by["pyt"]["outputs"]["node_job"] == by["pyt"]["attempts"][0]["job_id"], by["pyt"]
assert [m["key"] for m in by["pyt"]["metrics"]] == ["answer"], by["pyt"]["metrics"]
assert [x["name"] for x in by["pyt"]["artifacts"]] == ["table"], by["pyt"]["artifacts"]
# the foreach is one job array: JOBID_0 .. JOBID_49
ids = [by["fan[%d]" % i]["attempts"][0]["job_id"] for i in range(50)]
base = {i.split("_")[0] for i in ids}
assert len(base) == 1, base
assert sorted(int(i.split("_")[1]) for i in ids) == list(range(50)), ids
# load on slurmctld: one sbatch per job or array, a bounded number of status queries
ev = [e for e in run["events"] if e["kind"] == "slurm.jobs"][0]["payload"]
assert ev["jobs"] == 54 and ev["sbatch_calls"] == 5, ev
' "$WORK/show.json"
expect_exit 0 "$REEL" logs "$RUN" "fan[7]"
expect_contains "$OUT" "item 7 n=3"
# One array in Slurm's own accounting: 50 tasks under one job name.
[[ "$(jobs_named "reel:$RUN:fan:1" | wc -l)" == 50 ]] || fail "expected 50 array tasks in sacct"
# The job folders (their specs hold the rendered config) go with a succeeded run.
[[ ! -e "$REEL_HOME/jobs/$RUN" ]] || fail "job folders left behind"

# --- kill -9 of reel while jobs run, then resume: no job is submitted twice -------------------
cat >"$WORK/wf/kill.yaml" <<'EOF'
name: killed
defaults:
  executor: slurm
steps:
  slow:
    operator: shell
    with:
      shell: true
      command: 'sleep 4; echo "{\"v\": 7}" > "$REEL_OUTPUTS"'
  items:
    operator: shell
    foreach: [1, 2, 3]
    with:
      command: [sh, -c, "sleep 3; echo item {{ item }}"]
  after:
    operator: shell
    needs: [slow, items]
    with:
      command: [echo, "v={{ steps.slow.outputs.v }}"]
EOF
"$REEL" run "$WORK/wf/kill.yaml" >"$WORK/killed.out" 2>&1 &
ENGINE=$!
wait_for "the killed run's jobs to run" sh -c "squeue -h -t RUNNING -o %j | grep -cE ':(slow|items):' | grep -qx 4"
KILLED="$(latest_run)"
kill -9 "$ENGINE"
wait "$ENGINE" 2>/dev/null || true
expect_exit 0 "$REEL" resume "$KILLED"
expect_contains "$ERR" "4 Slurm job(s) re-attached"
RESUMED="$(latest_run)"
"$REEL" show "$RESUMED" --json >"$WORK/resumed.json"
py '
import json, sys
run = json.load(open(sys.argv[1]))
assert run["status"] == "succeeded", run
by = {(t["step"], t["item_index"]): t for t in run["tasks"]}
assert by[("after", -1)]["outputs"]["exit_code"] == 0
assert by[("slow", -1)]["outputs"]["v"] == 7, by[("slow", -1)]
' "$WORK/resumed.json"
# 1 + 3 jobs of the killed run, each once, and only `after` from the resumed one.
[[ "$(jobs_named "reel:$KILLED:" | wc -l)" == 4 ]] || { jobs_named "reel:$KILLED:"; fail "killed run's jobs"; }
[[ "$(jobs_named "reel:$RESUMED:" | wc -l)" == 1 ]] || { jobs_named "reel:$RESUMED:"; fail "resumed run's jobs"; }
# The re-attached attempts name the jobs of the killed run.
py '
import json, sys
run = json.load(open(sys.argv[1]))
ids = sorted(t["attempts"][0]["job_id"] for t in run["tasks"] if t["step"] != "after")
assert len(ids) == 4 and all(ids), ids
' "$WORK/resumed.json"

# --- A job that Slurm kills is a failed attempt with Slurm's state, and is retried ------------
cat >"$WORK/wf/preempted.yaml" <<'EOF'
name: preempted
steps:
  work:
    operator: shell
    executor: slurm
    retries: 1
    retry_delay: 0s
    with:
      shell: true
      command: 'if [ "$REEL_ATTEMPT" = 1 ]; then sleep 60; fi; echo attempt $REEL_ATTEMPT'
EOF
"$REEL" run "$WORK/wf/preempted.yaml" >"$WORK/preempted.out" 2>&1 &
ENGINE=$!
wait_for "the first attempt's job to run" sh -c "squeue -h -t RUNNING -o %j | grep -q ':work:1'"
scancel --jobname "$(squeue -h -t RUNNING -o %j | grep ':work:1' | head -1)"
wait "$ENGINE" || fail "the retried run failed: $(cat "$WORK/preempted.out")"
"$REEL" show "$(latest_run)" --json >"$WORK/preempted.json"
py '
import json, sys
run = json.load(open(sys.argv[1]))
a = run["tasks"][0]["attempts"]
assert [x["status"] for x in a] == ["failed", "succeeded"], a
assert a[0]["job_state"] == "CANCELLED" and "CANCELLED" in a[0]["error"], a[0]
assert a[0]["job_id"] != a[1]["job_id"], a
' "$WORK/preempted.json"

# --- A step's timeout cancels its job ---------------------------------------------------------
cat >"$WORK/wf/timeout.yaml" <<'EOF'
name: slow_step
steps:
  stuck:
    operator: shell
    executor: slurm
    timeout: 2s
    with:
      command: [sleep, "60"]
EOF
expect_exit 1 "$REEL" run "$WORK/wf/timeout.yaml"
"$REEL" show "$(latest_run)" --json >"$WORK/timeout.json"
JOB="$(py 'import json,sys; print(json.load(open(sys.argv[1]))["tasks"][0]["attempts"][0]["job_id"])' "$WORK/timeout.json")"
py '
import json, sys
a = json.load(open(sys.argv[1]))["tasks"][0]["attempts"][0]
assert a["status"] == "timed_out" and a["job_state"] == "CANCELLED", a
' "$WORK/timeout.json"
[[ "$(sacct -c -j "$JOB" -n -P -o State 2>/dev/null)" == CANCELLED* ]] || fail "job $JOB not cancelled"

# --- reel cancel cancels the run's jobs -------------------------------------------------------
cat >"$WORK/wf/cancel.yaml" <<'EOF'
name: cancelled
defaults: {executor: slurm}
steps:
  long:
    operator: shell
    foreach: [1, 2]
    with:
      command: [sleep, "60"]
EOF
"$REEL" run "$WORK/wf/cancel.yaml" >"$WORK/cancel.out" 2>&1 &
ENGINE=$!
wait_for "the jobs to run" sh -c "squeue -h -t RUNNING -o %j | grep -c ':long:' | grep -qx 2"
CANCELLED="$(latest_run)"
expect_exit 0 "$REEL" cancel "$CANCELLED"
wait "$ENGINE" && fail "a cancelled run exited 0"
wait_for "the jobs to leave the queue" sh -c "! squeue -h -t PENDING,RUNNING -o %j | grep -q ':long:'"
[[ "$(jobs_named "reel:$CANCELLED:" | grep -c CANCELLED)" == 2 ]] || fail "jobs not cancelled"
expect_exit 0 "$REEL" show "$CANCELLED" --json
expect_contains "$OUT" '"status": "cancelled"'

# --- reel cancel of a run whose engine was killed cancels the jobs it left ---------------------
"$REEL" run "$WORK/wf/cancel.yaml" >"$WORK/cancel2.out" 2>&1 &
ENGINE=$!
wait_for "the jobs to run" sh -c "squeue -h -t RUNNING -o %j | grep -c ':long:' | grep -qx 2"
ORPHANED="$(latest_run)"
kill -9 "$ENGINE"
wait "$ENGINE" 2>/dev/null || true
expect_exit 0 "$REEL" cancel "$ORPHANED"
expect_contains "$OUT" "its reel process is gone; cancelled its 2 Slurm job(s)"
wait_for "the orphaned jobs to leave the queue" sh -c "! squeue -h -t PENDING,RUNNING -o %j | grep -q ':long:'"
[[ "$(jobs_named "reel:$ORPHANED:" | grep -c CANCELLED)" == 2 ]] || fail "orphaned jobs not cancelled"

# --- Refusals and bad settings ----------------------------------------------------------------
cat >"$WORK/wf/huge.yaml" <<'EOF'
name: huge
steps:
  big:
    operator: shell
    executor: slurm
    resources: {cpus: 64}
    with:
      command: ["true"]
EOF
expect_exit 1 "$REEL" run "$WORK/wf/huge.yaml"
expect_contains "$ERR" "sbatch refused the job"
# Without Slurm's commands, a run on Slurm is refused before anything is recorded.
expect_exit 2 env PATH=/nonexistent "$REEL" run "$WORK/wf/huge.yaml" --executor slurm
expect_contains "$ERR" "step 'big' runs on Slurm, but sbatch is not on the PATH"
cat >"$WORK/wf/bad.yaml" <<'EOF'
name: bad
defaults:
  executor: kubernetes
steps:
  a:
    operator: shell
    resources: {memory: lots, time: 30s, sbatch_args: ["--array=0-3", "partition"]}
    with:
      command: ["true"]
EOF
expect_exit 2 "$REEL" validate "$WORK/wf/bad.yaml"
expect_contains "$ERR" "bad.yaml:3:13: error: defaults.executor must be local or slurm, got 'kubernetes'"
expect_contains "$ERR" "resources.memory must be an amount such as 512M or 4G, got 'lots'"
expect_contains "$ERR" "resources.time must be at least 1m"
expect_contains "$ERR" "resources.sbatch_args may not set '--array'"
expect_contains "$ERR" "must be an sbatch option, got 'partition'"
echo "ok"
