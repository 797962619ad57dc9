#!/usr/bin/env bash
# Logical dates of a schedule that fires several times a day: an hourly backfill makes one run
# per interval, each with its own logical date and data interval; daily runs keep their ds.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/wf"
cat >"$WORK/wf/hourly.yaml" <<'YAML'
name: hourly
schedule: {cron: "0 * * * *", timezone: UTC}
params:
  window_start: {type: string, default: "{{ data_interval_start }}"}
steps:
  work:
    operator: shell
    with:
      command: [sh, -c, 'echo "ds=$0 logical_date=$1 ts=$2 start=$3 end=$4 param=$5"',
                "{{ ds }}", "{{ logical_date }}", "{{ ts }}", "{{ data_interval_start }}",
                "{{ data_interval_end }}", "{{ params.window_start }}"]
YAML
wf="$WORK/wf/hourly.yaml"

# Three intervals, given as instants; the dry run lists each interval and writes nothing.
expect_exit 0 "$REEL" backfill "$wf" --from 2026-03-01T06:00 --to 2026-03-01T08:00Z --dry-run
expect_contains "$OUT" "3 date(s), 3 to run"
expect_contains "$OUT" "logical date          interval end          action"
expect_contains "$OUT" "2026-03-01T06:00:00Z  2026-03-01T07:00:00Z  run"
expect_contains "$OUT" "2026-03-01T08:00:00Z  2026-03-01T09:00:00Z  run"
[[ ! -e "$REEL_HOME" ]] || fail "--dry-run created $REEL_HOME"

expect_exit 0 "$REEL" backfill "$wf" --from 2026-03-01T06:00 --to 2026-03-01T08:00Z
expect_contains "$OUT" "3 succeeded, 0 failed"
expect_exit 0 "$REEL" runs --workflow hourly --json
echo "$OUT" | python3 -c '
import json, sys
runs = json.load(sys.stdin)
dates = sorted(r["logical_date"] for r in runs)
assert dates == ["2026-03-01T0%d:00:00Z" % h for h in (6, 7, 8)], dates
for r in runs:
    print(r["run_id"], r["logical_date"])
' >"$WORK/runs.txt"
while read -r run_id logical_date; do
  end="$(python3 -c '
import datetime, sys
t = datetime.datetime.strptime(sys.argv[1], "%Y-%m-%dT%H:%M:%SZ") + datetime.timedelta(hours=1)
print(t.strftime("%Y-%m-%dT%H:%M:%SZ"))' "$logical_date")"
  expect_exit 0 "$REEL" logs "$run_id" work
  expect_contains "$OUT" "ds=2026-03-01 logical_date=$logical_date ts=$logical_date start=$logical_date end=$end param=$logical_date"
done <"$WORK/runs.txt"

# The table of runs widens its date column for instants.
expect_exit 0 "$REEL" runs --workflow hourly
expect_contains "$OUT" "succeeded  2026-03-01T06:00:00Z "

# The whole day: the three that ran are skipped, the other 21 hours run.
expect_exit 0 "$REEL" backfill "$wf" --from 2026-03-01 --to 2026-03-01 --dry-run
expect_contains "$OUT" "24 date(s), 21 to run, 3 to skip"
expect_contains "$OUT" "2026-03-01T07:00:00Z  2026-03-01T08:00:00Z  skip (succeeded)"
expect_contains "$OUT" "2026-03-01T23:00:00Z  2026-03-02T00:00:00Z  run"

# reel run takes an interval start too; a time that starts no interval is a usage error.
expect_exit 0 "$REEL" run "$wf" --date 2026-03-02T09:00Z
expect_exit 0 "$REEL" runs --workflow hourly --json
expect_contains "$OUT" '"logical_date": "2026-03-02T09:00:00Z"'
expect_exit 2 "$REEL" run "$wf" --date 2026-03-02T09:30Z
expect_contains "$ERR" "is not the start of an interval of cron '0 * * * *' in UTC"
expect_exit 2 "$REEL" backfill "$wf" --from 2026-03-01T08:00 --to 2026-03-01T06:00
expect_contains "$ERR" "reversed"

# In a zone, an instant without an offset is local time, and texts carry the local offset.
sed -e 's/name: hourly/name: berlin/' -e 's/timezone: UTC/timezone: Europe\/Berlin/' "$wf" \
  >"$WORK/berlin.yaml"
expect_exit 0 "$REEL" backfill "$WORK/berlin.yaml" --from 2026-03-01T06:00 --to 2026-03-01T06:00
expect_exit 0 "$REEL" runs --workflow berlin --json
expect_contains "$OUT" '"logical_date": "2026-03-01T05:00:00Z"'
run_id="$(echo "$OUT" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["run_id"])')"
expect_exit 0 "$REEL" logs "$run_id" work
expect_contains "$OUT" "ds=2026-03-01 logical_date=2026-03-01T06:00:00+01:00"
expect_contains "$OUT" "end=2026-03-01T07:00:00+01:00"

# The daemon fires the latest hour that has ended, with that hour as its logical date.
expect_exit 0 "$REEL" serve --workflows "$WORK/wf" --once --now 2026-03-03T10:00:05Z
expect_contains "$OUT" "fired hourly logical_date=2026-03-03T09:00:00Z run="
expect_contains "$OUT" "(interval 2026-03-03T09:00:00Z - 2026-03-03T10:00:00Z)"
expect_exit 0 "$REEL" runs --workflow hourly --json
expect_contains "$OUT" '"logical_date": "2026-03-03T09:00:00Z"'

# A daily schedule still records and shows the day; its interval starts at 03:00.
cat >"$WORK/daily.yaml" <<'YAML'
name: daily
schedule: {cron: "0 3 * * *", timezone: UTC}
params:
  ds: {type: date, default: "{{ logical_date }}"}
steps:
  work:
    operator: shell
    with:
      command: [sh, -c, 'echo "ds=$0 param=$1 start=$2 end=$3"', "{{ ds }}", "{{ params.ds }}",
                "{{ data_interval_start }}", "{{ data_interval_end }}"]
YAML
expect_exit 0 "$REEL" backfill "$WORK/daily.yaml" --from 2026-11-28 --to 2026-11-29 --dry-run
expect_contains "$OUT" "ds          action            latest run"
expect_contains "$OUT" "2026-11-28  run"
expect_exit 0 "$REEL" run "$WORK/daily.yaml" --date 2026-11-28
expect_exit 0 "$REEL" runs --workflow daily --json
expect_contains "$OUT" '"logical_date": "2026-11-28"'
run_id="$(echo "$OUT" | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["run_id"])')"
expect_exit 0 "$REEL" logs "$run_id" work
expect_contains "$OUT" "ds=2026-11-28 param=2026-11-28 start=2026-11-28T03:00:00Z end=2026-11-29T03:00:00Z"
