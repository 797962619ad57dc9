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

printf "%-34s %8s %10s %12s %12s %10s\n" "case" "tasks" "wall (s)" "tasks/s" "us/task" "RSS (MB)"
row() {  # label tasks wall rss_kb
  local tasks="$2" wall="$3" rss="$4"
  if [[ "$wall" == fail ]]; then
    printf "%-34s %8s %10s\n" "$1" "$tasks" "failed"
    return
  fi
  awk -v l="$1" -v n="$tasks" -v w="$wall" -v r="$rss" 'BEGIN {
    w = (w < 0.005 ? 0.005 : w);
    printf "%-34s %8d %10.2f %12.0f %12.1f %10.1f\n", l, n, w, n / w, w * 1e6 / n, r / 1024 }'
}

for kind in chain fanout shell; do
  dir="$work/$kind"
  tasks=$(python3 bench/scheduler/gen.py "$kind" "$dir")
  export REEL_HOME="$dir/home"
  read -r wall rss < <(measure "$dir" "$reel" run workflow.yaml --max-parallel "$jobs")
  row "reel $kind (durable, WAL)" "$tasks" "$wall" "$rss"
  read -r wall rss < <(measure "$dir" make -s -j "$jobs" -f Makefile)
  row "make -j$jobs $kind" "$tasks" "$wall" "$rss"
  if [[ $with_snakemake == 1 && "$kind" != fanout ]]; then
    read -r wall rss < <(measure "$dir" timeout 900 snakemake -s Snakefile -c "$jobs" --quiet all)
    row "snakemake -c$jobs $kind" "$tasks" "$wall" "$rss"
  fi
done
