#!/usr/bin/env bash
# Distributed training on Slurm: examples/python run with --executor slurm on a real
# single-node cluster (scripts/slurm-local), its torch_train step as one job of two tasks whose
# ranks learn their rank and world size from Slurm (srun, SLURM_PROCID, SLURM_NTASKS) and meet
# at the first node. Python steps, the built-in evaluate and training all run as jobs.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
if [[ "${REEL_WITH_TORCH:-1}" != 1 ]]; then
  echo "built without LibTorch (REEL_WITH_TORCH=OFF): torch_train cannot run; skipping"
  exit 0
fi
start_slurm

"$REEL" example-data --out "$WORK/data" --users 300 --items 100 --days 40 >/dev/null
# The example, with its training as two ranks: on Slurm, one task each.
mkdir -p "$WORK/flow"
cp "$REEL_SOURCE_DIR"/examples/python/*.py "$WORK/flow/"
sed -e 's/      world_size: 1/      world_size: 2/' \
    -e 's/^  train:$/  train:\n    resources: {cpus: 2, tasks_per_node: 2}/' \
    "$REEL_SOURCE_DIR/examples/python/workflow.yaml" >"$WORK/flow/workflow.yaml"
grep -q "tasks_per_node: 2" "$WORK/flow/workflow.yaml" || fail "the example's train step changed"
ARGS=(-p "events=$WORK/data/viewing_history.csv" -p ds=2024-02-05 -p epochs=2)
cd "$WORK"

expect_exit 0 "$REEL" run "$WORK/flow/workflow.yaml" "${ARGS[@]}" --executor slurm
RUN=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_exit 0 "$REEL" show "$RUN" --json
echo "$OUT" >"$WORK/show.json"
JOB=$($PY -c '
import json, sys
run = json.load(open(sys.argv[1]))
assert run["status"] == "succeeded", run
for t in run["tasks"]:
    a = t["attempts"][-1]
    assert a["executor"] == "slurm" and a["job_id"] and a["job_state"] == "COMPLETED", (t["step"], a)
tasks = {t["step"]: t for t in run["tasks"]}
assert tasks["train"]["outputs"]["epochs"] == 2, tasks["train"]
assert "lift_over_baseline" in tasks["report"]["outputs"], tasks["report"]
print(tasks["train"]["attempts"][-1]["job_id"])
' "$WORK/show.json")
# One job of two tasks.
scontrol show job "$JOB" >"$WORK/job.txt"
grep -q "NumTasks=2 " "$WORK/job.txt" || { cat "$WORK/job.txt"; fail "job $JOB is not a 2-task job"; }
expect_exit 0 "$REEL" logs "$RUN" train
expect_contains "$OUT" "2 ranks as the tasks of Slurm job $JOB, rendezvous at 127.0.0.1:"
expect_contains "$OUT" "[srun] epoch 2/2"

# A world_size that the job's tasks cannot hold is refused at validation.
sed -e 's/      world_size: 2/      world_size: 3/' "$WORK/flow/workflow.yaml" >"$WORK/flow/bad.yaml"
sed -i 's/^  train:$/  train:\n    executor: slurm/' "$WORK/flow/bad.yaml"
expect_exit 2 "$REEL" validate "$WORK/flow/bad.yaml"
expect_contains "$ERR" "runs on Slurm with 2 task(s) (resources.nodes 1 x tasks_per_node 2), one rank each, but sets world_size 3"
echo ok
