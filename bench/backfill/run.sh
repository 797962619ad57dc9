#!/usr/bin/env bash
# Backfill benchmark: `reel backfill` of a 6-step noop workflow over 365 days, one run per
# day, at --parallel 1 and 2, each into a fresh home. Prints wall time, runs/s and the
# overhead per run (everything but the operators, which do nothing): creating the run and
# its 6 task rows, recording every transition durably, reading the plan.
#   bench/backfill/run.sh [DAYS]   (REEL=path/to/reel to skip the build; else REEL_BUILD_DIR,
#                                   default build)
set -euo pipefail
cd "$(dirname "$0")/../.."
days="${1:-365}"
build_dir="${REEL_BUILD_DIR:-build}"
reel="${REEL:-}"  # a prebuilt binary, else build one
if [[ -z "$reel" ]]; then
  REEL_BUILD_DIR="$build_dir" REEL_BUILD_TARGET=reel scripts/build >/dev/null
  reel="$PWD/$build_dir/cli/reel"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/daily_noop.yaml" <<'YAML'
name: daily_noop
schedule: {cron: "0 3 * * *", timezone: UTC}
steps:
  extract: {operator: noop}
  validate: {operator: noop, needs: [extract]}
  features: {operator: noop, needs: [validate]}
  train: {operator: noop, needs: [features]}
  evaluate: {operator: noop, needs: [train]}
  publish: {operator: noop, needs: [evaluate]}
YAML
to=$(date -u -d "2025-01-01 + $((days - 1)) days" +%F)

printf "%-28s %6s %10s %10s %14s\n" "case" "runs" "wall (s)" "runs/s" "ms/run"
row() {  # label runs start end
  awk -v l="$1" -v n="$2" -v s="$3" -v e="$4" 'BEGIN { w = e - s;
    printf "%-28s %6d %10.2f %10.1f %14.1f\n", l, n, w, n / w, w * 1000 / n }'
}
for parallel in 1 2; do
  export REEL_HOME="$work/home-$parallel"
  start=$(date +%s.%N)
  "$reel" backfill "$work/daily_noop.yaml" --from 2025-01-01 --to "$to" \
    --parallel "$parallel" --max-parallel 1 >"$work/out" 2>"$work/err" || {
    echo "backfill failed:" >&2; tail -5 "$work/err" >&2; exit 1; }
  end=$(date +%s.%N)
  row "backfill --parallel $parallel" "$days" "$start" "$end"
  # The same range again: every date is skipped (the cost of resuming a finished backfill).
  start=$(date +%s.%N)
  "$reel" backfill "$work/daily_noop.yaml" --from 2025-01-01 --to "$to" \
    --parallel "$parallel" >"$work/out" 2>"$work/err"
  end=$(date +%s.%N)
  row "  again (all skipped)" "$days" "$start" "$end"
done
