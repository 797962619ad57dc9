#!/usr/bin/env bash
# Feature ETL time against the number of daily partitions: the same ~100k viewing events
# spread over more and more days, one fact store partition a day.
#
#   bench/features/partitions.sh [DAYS...]      default: 35 730 2000 8000
#
# For each DAYS: `reel example-data` writes ~100000 events over DAYS days, a fact_snapshot
# step loads them (one partition a day), then a feature_etl step runs for the day after the
# last one: the features of bench/features/features.yaml plus two all-history ones, which
# read every partition. Prints partitions, events and the feature_etl step's wall time.
# REEL_BUILD_DIR selects the build (default build), REEL_BIN another reel binary; EVENTS
# changes the 100000.
set -euo pipefail
cd "$(dirname "$0")/../.."
days_list=("$@")
[[ ${#days_list[@]} -eq 0 ]] && days_list=(35 730 2000 8000)
build_dir="${REEL_BUILD_DIR:-build}"
reel="${REEL_BIN:-$PWD/$build_dir/cli/reel}"
[[ -x "$reel" ]] || { echo "no reel binary at $reel: build it first" >&2; exit 2; }
target="${EVENTS:-100000}"
work=$(mktemp -d "${TMPDIR:-/tmp}/reel-bench-partitions.XXXXXX")
trap 'rm -rf "$work"' EXIT
first=2000-01-01

printf "%10s %10s %14s\n" partitions events "features (s)"
for days in "${days_list[@]}"; do
  data="$work/data-$days"
  per_day=$(((target + days - 1) / days))
  last=$(date -u -d "$first + $((days - 1)) days" +%F)
  ds=$(date -u -d "$first + $days days" +%F)
  "$reel" example-data --out "$data" --users 5000 --items 1000 --days "$days" \
    --start "$first" --events-per-day "$per_day" >/dev/null
  events=$(($(wc -l <"$data/viewing_history.csv") - 1))
  cat >"$work/snapshot.yaml" <<YAML
name: bench_partitions_snapshot
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
  sed "s/@DS@/$ds/; s/bench_features/bench_partitions/" bench/features/features.yaml \
    >"$work/features.yaml"
  # Two all-history features: every partition before the cutoff is read.
  sed -i '/user_features:/a\        - {name: watches_all, fact: viewing_history, aggregation: count}' \
    "$work/features.yaml"
  sed -i '/item_features:/a\        - {name: views_all, fact: viewing_history, aggregation: count}' \
    "$work/features.yaml"
  export REEL_HOME="$work/home-$days"
  "$reel" run "$work/snapshot.yaml" >"$work/out" 2>&1 || { tail -20 "$work/out" >&2; exit 1; }
  start=$(date +%s.%N)
  "$reel" run "$work/features.yaml" >"$work/out" 2>&1 || { tail -20 "$work/out" >&2; exit 1; }
  end=$(date +%s.%N)
  awk -v p="$days" -v n="$events" -v a="$start" -v b="$end" \
    'BEGIN { printf "%10d %10d %14.2f\n", p, n, b - a }'
done
