# End-to-end: `reel example-data`, then the fact store through `reel facts` (loaded by a
# fact_snapshot step when `reel run` is available).
source "$REEL_SOURCE_DIR/tests/e2e/lib.sh"

# Example data: tiny, deterministic, with a one-line summary.
expect_exit 0 "$REEL" example-data --out "$WORK/data" --users 50 --items 40 --days 14 \
  --events-per-day 200 --seed 7
expect_contains "$OUT" "viewing events"
expect_contains "$OUT" "2024-01-01..2024-01-14"
[[ "$(echo "$OUT" | wc -l)" == 1 ]] || fail "summary is not one line: $OUT"
for f in items.csv users.csv viewing_history.csv thumbs.csv; do
  [[ -s "$WORK/data/$f" ]] || fail "missing $f"
done
head -1 "$WORK/data/viewing_history.csv" | grep -qx "event_id,user_id,item_id,event_time,watch_seconds,device" \
  || fail "viewing_history.csv header"
expect_exit 0 "$REEL" example-data --out "$WORK/data2" --users 50 --items 40 --days 14 \
  --events-per-day 200 --seed 7
cmp -s "$WORK/data/viewing_history.csv" "$WORK/data2/viewing_history.csv" \
  || fail "the same seed gave different files"
expect_exit 2 "$REEL" example-data --out "$WORK/bad" --start 2024-02-30
expect_contains "$ERR" "YYYY-MM-DD"

# The ratings shape: one ratings.csv, deterministic, sized by the same flags.
expect_exit 0 "$REEL" example-data --shape ratings --out "$WORK/ratings" --users 200 \
  --items 300 --days 400 --events-per-day 10 --seed 7
expect_contains "$OUT" "ratings by 200 users on 300 items, 2020-01-01..2021-02-03"
head -1 "$WORK/ratings/ratings.csv" | grep -qx "userId,movieId,rating,timestamp" \
  || fail "ratings.csv header"
[[ ! -e "$WORK/ratings/viewing_history.csv" ]] || fail "the ratings shape wrote viewing_history"
expect_exit 0 "$REEL" example-data --shape ratings --out "$WORK/ratings2" --users 200 \
  --items 300 --days 400 --events-per-day 10 --seed 7
cmp -s "$WORK/ratings/ratings.csv" "$WORK/ratings2/ratings.csv" \
  || fail "the same seed gave different ratings"
bad=$(awk -F, 'NR > 1 && ($3 < 0.5 || $3 > 5 || ($3 * 2) % 1 != 0)' "$WORK/ratings/ratings.csv" | wc -l)
[[ "$bad" == 0 ]] || fail "$bad ratings outside 0.5..5 in half steps"
expect_exit 2 "$REEL" example-data --shape stars --out "$WORK/bad"
expect_contains "$ERR" "--shape must be viewing or ratings, got 'stars'"

# An empty home: no tables; asking for one is a usage error.
expect_exit 0 "$REEL" facts tables
expect_contains "$OUT" "no fact tables"
expect_exit 0 "$REEL" facts tables --json
[[ "$OUT" == "[]" ]] || fail "expected [] got $OUT"
expect_exit 1 "$REEL" facts partitions viewing_history
expect_contains "$ERR" "no fact store"
expect_exit 2 "$REEL" facts as-of viewing_history 2024-13-01
expect_contains "$ERR" "YYYY-MM-DD"

if ! "$REEL" run --help >/dev/null 2>&1; then
  echo "reel run is not available: skipping the fact_snapshot part"
  exit 0
fi

# Load the history as a range, then check time travel from the command line.
events=$(($(wc -l <"$WORK/data/viewing_history.csv") - 1))
cat >"$WORK/load.yaml" <<YAML
name: load_facts
steps:
  history:
    operator: fact_snapshot
    with:
      source: $WORK/data/viewing_history.csv
      table: viewing_history
      timestamp: {column: event_time, format: iso8601}
      types: {event_id: int, user_id: int, item_id: int, watch_seconds: int}
      from: "2024-01-01"
      to: "2024-01-14"
YAML
expect_exit 0 "$REEL" run "$WORK/load.yaml" --date 2024-01-15
expect_exit 0 "$REEL" facts tables
expect_contains "$OUT" "viewing_history"
expect_contains "$OUT" "2024-01-01..2024-01-14"
expect_exit 0 "$REEL" facts partitions viewing_history --json
[[ "$(echo "$OUT" | grep -c '"ds"')" == 14 ]] || fail "expected 14 partitions: $OUT"
expect_exit 0 "$REEL" facts as-of viewing_history 2024-01-15 --count
[[ "$OUT" == "$events" ]] || fail "as-of after the last day: $OUT, expected $events"
expect_exit 0 "$REEL" facts as-of viewing_history 2024-01-01 --count
[[ "$OUT" == "0" ]] || fail "as-of the first midnight: $OUT"
# Events strictly before 2024-01-08T12:00:00Z, counted independently from the CSV.
want=$(awk -F, 'NR > 1 && $4 < "2024-01-08T12:00:00Z"' "$WORK/data/viewing_history.csv" | wc -l)
expect_exit 0 "$REEL" facts as-of viewing_history 2024-01-08T12:00:00Z --count
[[ "$OUT" == "$want" ]] || fail "as-of mid-day: $OUT, expected $want"
expect_exit 0 "$REEL" facts as-of viewing_history 2024-01-03 --limit 3
[[ "$(echo "$OUT" | wc -l)" == 4 ]] || fail "header + 3 rows expected: $OUT"
expect_contains "$ERR" "showing the first 3 rows"
expect_exit 1 "$REEL" facts as-of viewing_histry 2024-01-03
expect_contains "$ERR" "known tables: viewing_history"

# Loading again is a no-op: the partitions keep their hashes.
before=$("$REEL" facts partitions viewing_history --json | grep content_hash)
expect_exit 0 "$REEL" run "$WORK/load.yaml" --date 2024-01-15
after=$("$REEL" facts partitions viewing_history --json | grep content_hash)
[[ "$before" == "$after" ]] || fail "reloading changed partitions"

# Coverage: the loaded days pass; a window reaching before the history fails with its dates.
coverage() {  # FROM TO
  cat >"$WORK/coverage.yaml" <<YAML
name: coverage
steps:
  quality:
    operator: data_quality
    retries: 0
    with:
      ds: "2024-01-15"
      table: viewing_history
      checks:
        - {check: coverage, from: "$1", to: "$2", max_missing_days: 0}
YAML
}
coverage 2024-01-01 2024-01-14
expect_exit 0 "$REEL" run "$WORK/coverage.yaml" --date 2024-01-15
coverage 2023-12-20 2024-01-14
expect_exit 1 "$REEL" run "$WORK/coverage.yaml" --date 2024-01-15
expect_contains "$OUT$ERR" "coverage: 12 of 26 days missing in viewing_history 2023-12-20..2024-01-14 (max 0): 2023-12-20, 2023-12-21, 2023-12-22, 2023-12-23, 2023-12-24, ... (and 7 more)"
echo "ok"
