#!/usr/bin/env bash
# Scheduler benchmark: reel against GNU make -j and snakemake on the same DAGs, in one run.
# Prints a table of wall time, tasks/s, overhead per task and peak RSS.
#   bench/scheduler/run.sh [--no-snakemake]
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/bootstrap --bench
REEL_BUILD_TARGET=reel scripts/build >/dev/null
reel="$PWD/${REEL_BUILD_DIR:-build}/cli/reel"
jobs=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
with_snakemake=1
[[ "${1:-}" == "--no-snakemake" ]] && with_snakemake=0

# measure LABEL DIR CMD...: runs CMD in DIR under /usr/bin/time; prints "wall_s rss_kb".
measure() {
  local dir="$1"; shift
  (cd "$dir" && /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>&1) || {
    echo "command failed: $*" >&2; tail -5 "$work/out" >&2; echo "fail 0"; return; }
  cat "$work/time"
}

# wall: the whole command (process start, YAML parsing and validation, the run, the summary).
# in-run: reel only, from the run's start to its end as recorded in reel.db.
printf "%-30s %7s %9s %10s %9s %9s %10s %9s\n" "case" "tasks" "wall (s)" "tasks/s" "us/task" \
  "RSS (MB)" "in-run (s)" "tasks/s"
row() {  # label tasks wall rss_kb [in_run_ms]
  local tasks="$2" wall="$3" rss="$4" in_run="${5:-}"
  if [[ "$wall" == fail ]]; then
    printf "%-30s %7s %9s\n" "$1" "$tasks" "failed"
    return
  fi
  awk -v l="$1" -v n="$tasks" -v w="$wall" -v r="$rss" -v ir="$in_run" 'BEGIN {
    w = (w < 0.005 ? 0.005 : w);
    printf "%-30s %7d %9.2f %10.0f %9.1f %9.1f", l, n, w, n / w, w * 1e6 / n, r / 1024;
    if (ir != "") { s = (ir < 1 ? 1 : ir) / 1000; printf " %10.2f %9.0f", s, n / s }
    printf "\n" }'
}

for kind in chain fanout shell; do
  dir="$work/$kind"
  tasks=$(python3 bench/scheduler/gen.py "$kind" "$dir")
  export REEL_HOME="$dir/home"
  read -r wall rss < <(measure "$dir" "$reel" run workflow.yaml --max-parallel "$jobs")
  in_run=$(sqlite3 "$REEL_HOME/reel.db" "SELECT ended_at - started_at FROM runs" 2>/dev/null || true)
  row "reel $kind (durable, WAL)" "$tasks" "$wall" "$rss" "$in_run"
  read -r wall rss < <(measure "$dir" make -s -j "$jobs" -f Makefile)
  row "make -j$jobs $kind" "$tasks" "$wall" "$rss"
  if [[ $with_snakemake == 1 && "$kind" != fanout ]]; then
    read -r wall rss < <(measure "$dir" timeout 900 snakemake -s Snakefile -c "$jobs" --quiet all)
    row "snakemake -c$jobs $kind" "$tasks" "$wall" "$rss"
  fi
done
