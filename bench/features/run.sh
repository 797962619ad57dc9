#!/usr/bin/env bash
# Feature pipeline benchmark: fact snapshot and feature ETL throughput and peak memory, reel
# against the same computation in pandas, side by side on the same generated events.
#
#   bench/features/run.sh [EVENTS...]      default: 1000000
#
# For each size: `reel example-data` writes ~EVENTS viewing events over 60 days; then
#   snapshot  reel: `reel run` of a fact_snapshot step loading all 60 days, one partition a
#             day, into a fresh fact store (typed columns, ISO-8601 times, content hashes);
#             pandas: read_csv, parse times, sort, one pickle file a day
#   features  reel: `reel run` of a feature_etl step for the day after the last one
#             (interactions 28 days, holdout 7 days, 4 user and 3 item features, windows of
#             7 and 28 days, CSV artifacts); pandas: the same from its per-day pickles
# and prints wall time, events/s (all generated events / wall time, the same numerator for
# both) and peak RSS (/usr/bin/time %M), and checks that both found the same number of
# training interactions, users and items. Needs `scripts/bootstrap --bench` (python3-pandas,
# time). REEL_BUILD_DIR selects the build (default build).
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("$@")
[[ ${#sizes[@]} -eq 0 ]] && sizes=(1000000)
build_dir="${REEL_BUILD_DIR:-build}"
REEL_BUILD_DIR="$build_dir" REEL_BUILD_TARGET=reel scripts/build >/dev/null
reel="$PWD/$build_dir/cli/reel"
py=/usr/bin/python3
pandas_script="$PWD/bench/features/pandas_features.py"
"$py" -c "import pandas" 2>/dev/null || { echo "needs pandas: scripts/bootstrap --bench" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time: scripts/bootstrap --bench" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/reel-bench-features.XXXXXX")
trap 'rm -rf "$work"' EXIT

days=60
first=2024-01-01
last=$(date -u -d "$first + $((days - 1)) days" +%F)
ds=$(date -u -d "$first + $days days" +%F)

# Runs a command under /usr/bin/time; sets WALL (s) and RSS (MiB).
measure() {
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
    echo "failed: $*" >&2; tail -20 "$work/err" >&2; tail -5 "$work/out" >&2; exit 1; }
  read -r WALL RSS_KB <"$work/time"
  RSS=$((RSS_KB / 1024))
}

printf "%-10s %-9s %-7s %9s %12s %10s %9s\n" events step tool "wall (s)" "events/s" "RSS (MiB)" speedup
row() {  # events step tool wall rss speedup
  awk -v n="$1" -v s="$2" -v t="$3" -v w="$4" -v r="$5" -v x="$6" 'BEGIN {
    printf "%-10d %-9s %-7s %9.2f %12.0f %10d %9s\n", n, s, t, w, n / w, r, x }'
}

for target in "${sizes[@]}"; do
  data="$work/data-$target"
  per_day=$((target / days))
  users=$((target / 20)); items=$((target / 200))
  [[ $items -lt 500 ]] && items=500
  "$reel" example-data --out "$data" --users "$users" --items "$items" --days "$days" \
    --start "$first" --events-per-day "$per_day" >/dev/null
  events=$(($(wc -l <"$data/viewing_history.csv") - 1))

  cat >"$work/snapshot.yaml" <<YAML
name: bench_snapshot
steps:
  snapshot:
    operator: fact_snapshot
    with:
      source: $data/viewing_history.csv
      table: viewing_history
      kind: event
      timestamp: {column: event_time, format: iso8601}
      types: {event_id: int, user_id: int, item_id: int, watch_seconds: int}
      from: "$first"
      to: "$last"
YAML
  sed "s/@DS@/$ds/" bench/features/features.yaml >"$work/features.yaml"

  export REEL_HOME="$work/home-$target"
  measure "$reel" run "$work/snapshot.yaml"
  r_wall=$WALL; r_rss=$RSS
  measure "$py" "$pandas_script" snapshot "$data/viewing_history.csv" "$work/pandas-$target"
  p_wall=$WALL; p_rss=$RSS
  x=$(awk -v a="$p_wall" -v b="$r_wall" 'BEGIN { printf "%.1fx", a / b }')
  row "$events" snapshot reel "$r_wall" "$r_rss" "$x"
  row "$events" snapshot pandas "$p_wall" "$p_rss" ""

  measure "$reel" run "$work/features.yaml"
  r_wall=$WALL; r_rss=$RSS
  reel_counts=$("$reel" runs --limit 1 --json | "$py" -c '
import json, sys, subprocess
run = json.load(sys.stdin)[0]
shown = json.loads(subprocess.run([sys.argv[1], "show", run["run_id"], "--json"],
                                  capture_output=True, text=True, check=True).stdout)
def find(o):
    if isinstance(o, dict):
        if "train_rows" in o: return o
        for v in o.values():
            r = find(v)
            if r: return r
    if isinstance(o, list):
        for v in o:
            r = find(v)
            if r: return r
out = find(shown)
print("train_rows=%s users=%s items=%s" % (out["train_rows"], out["users"], out["items"]))' "$reel")
  measure "$py" "$pandas_script" features "$work/pandas-$target" "$ds" "$work/pandas-out-$target"
  p_wall=$WALL; p_rss=$RSS
  pandas_counts=$(tail -1 "$work/out")
  x=$(awk -v a="$p_wall" -v b="$r_wall" 'BEGIN { printf "%.1fx", a / b }')
  row "$events" features reel "$r_wall" "$r_rss" "$x"
  row "$events" features pandas "$p_wall" "$p_rss" ""
  if [[ "$reel_counts" != "$pandas_counts" ]]; then
    echo "MISMATCH: reel $reel_counts, pandas $pandas_counts" >&2
    exit 1
  fi
  echo "  same result: $reel_counts"
  rm -rf "$data" "$work/pandas-$target" "$work/pandas-out-$target" "$REEL_HOME"
done
