#!/usr/bin/env bash
# Slurm benchmark: the same jobs through reel's Slurm executor and straight through Slurm, side
# by side on one single-node cluster (scripts/slurm-local), in one run.
#
#   bench/slurm/run.sh [N] [R]    (N jobs per case, default 200; each case R times, default 2,
#                                  alternating, and the fastest kept: the machine is shared)
#
# For trivial jobs (`true`) and one-second jobs (`sleep 1`):
#   sbatch --wait loop   N `sbatch --wait --wrap CMD` started side by side, then `wait`
#   reel, N steps        a workflow of N independent shell steps on Slurm: N sbatch calls
#   job array            one `sbatch --wait --array=0-(N-1) --wrap CMD`
#   reel, foreach        one shell step with `foreach` over N items on Slurm: one array
# and prints the wall time, jobs/s, reel's overhead per job against the plain submission it
# compares with, and how many status queries (squeue/sacct) reel made, per second of its run.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/bootstrap
REEL_BUILD_TARGET=reel scripts/build >/dev/null
reel="$PWD/${REEL_BUILD_DIR:-build}/cli/reel"
n="${1:-200}"
repeat="${2:-2}"
[[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 && "$n" -le 1000 && "$repeat" =~ ^[1-9]$ ]] ||
  { echo "usage: $0 [N from 1 to 1000] [R from 1 to 9]" >&2; exit 2; }
work=$(mktemp -d)
state="$work/slurm"
trap 'scripts/slurm-local down "$state" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
eval "$(scripts/slurm-local up "$state")"
export SLURM_CONF
export REEL_HOME="$work/home"
# One warm-up job: the first scheduling pass after start-up comes late.
sbatch --wait --wrap true -o /dev/null >/dev/null

now() { date +%s.%N; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }

# Plain Slurm.
sbatch_loop() {  # CMD
  local i
  for ((i = 0; i < n; i++)); do
    sbatch --wait -o /dev/null --wrap "$1" >/dev/null &
  done
  wait
}
job_array() { sbatch --wait -o /dev/null --array="0-$((n - 1))" --wrap "$1" >/dev/null; }

# Workflows.
steps_yaml() {  # CMD
  echo "name: bench_steps"
  echo "defaults: {executor: slurm}"
  echo "steps:"
  local i
  for ((i = 0; i < n; i++)); do
    echo "  s$i: {operator: shell, with: {command: [sh, -c, \"$1\"]}}"
  done
}
foreach_yaml() {  # CMD
  echo "name: bench_foreach"
  echo "defaults: {executor: slurm}"
  echo "steps:"
  echo "  each:"
  echo "    operator: shell"
  echo "    foreach: [$(seq -s, 1 "$n")]"
  echo "    with: {command: [sh, -c, \"$1\"]}"
}
reel_run() {  # YAML_FILE -> prints "status_queries"
  "$reel" run "$1" >"$work/out" 2>&1 || { tail -5 "$work/out" >&2; echo "reel run failed" >&2; exit 1; }
  local id
  id=$(head -1 "$work/out" | awk '{print $2}')
  "$reel" show "$id" --json | /usr/bin/python3 -c '
import json, sys
run = json.load(sys.stdin)
ev = [e for e in run["events"] if e["kind"] == "slurm.jobs"][0]["payload"]
print(ev["status_queries"])'
}

printf "%-34s %6s %9s %8s %14s %16s\n" "case" "jobs" "wall (s)" "jobs/s" "reel +ms/job" "queries (per s)"
row() {  # label wall [baseline_wall] [queries]
  awk -v l="$1" -v n="$n" -v w="$2" -v b="${3:-}" -v q="${4:-}" 'BEGIN {
    printf "%-34s %6d %9.2f %8.1f", l, n, w, n / w;
    if (b != "") printf " %+8.1f (%+3.0f%%)", (w - b) * 1000 / n, (w / b - 1) * 100; else printf " %14s", "";
    if (q != "") printf " %6d (%4.2f)", q, q / w;
    printf "\n" }'
}

# best VAR CMD...: runs CMD, keeping in VAR the lowest wall time so far (and in q the status
# queries of that run, for reel).
best() {
  local var="$1" t0 t1 wall out
  shift
  t0=$(now)
  out=$("$@")
  t1=$(now)
  wall=$(minus "$t1" "$t0")
  if [[ -z "${!var}" ]] || awk -v a="$wall" -v b="${!var}" 'BEGIN { exit !(a < b) }'; then
    printf -v "$var" '%s' "$wall"
    printf -v "${var}_q" '%s' "$out"
  fi
}

for kind in trivial one-second; do
  cmd=true
  [[ "$kind" == one-second ]] && cmd="sleep 1"
  steps_yaml "$cmd" >"$work/steps.yaml"
  foreach_yaml "$cmd" >"$work/foreach.yaml"
  plain="" steps="" array="" each=""
  for ((r = 0; r < repeat; r++)); do
    best plain sbatch_loop "$cmd"
    best steps reel_run "$work/steps.yaml"
    best array job_array "$cmd"
    best each reel_run "$work/foreach.yaml"
  done
  row "$kind: sbatch --wait loop" "$plain"
  row "$kind: reel, $n steps" "$steps" "$plain" "$steps_q"
  row "$kind: job array" "$array"
  row "$kind: reel, foreach (one array)" "$each" "$array" "$each_q"
done
echo
echo "Each case ran $repeat times, alternating; the fastest run is shown."
echo "reel +ms/job: reel's wall time minus the plain submission's above it, per job (and in %)."
echo "queries: squeue/sacct calls reel made for the whole run (one per poll, whatever the"
echo "number of jobs), and per second of the run."
