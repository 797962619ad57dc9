#!/usr/bin/env bash
# reel schedule next: fire times of a cron expression as ISO-8601 UTC instants.
source "$(dirname "$0")/lib.sh"

expect_exit 0 "$REEL" schedule next "0 9 * * 1-5" --tz UTC --from 2026-11-27T12:00:00Z -n 3
[[ "$OUT" == $'2026-11-30T09:00:00Z\n2026-12-01T09:00:00Z\n2026-12-02T09:00:00Z' ]] ||
  fail "unexpected weekday fire times: $OUT"

# Five by default; an offset in --from is honoured (12:00+01:00 is 11:00Z).
expect_exit 0 "$REEL" schedule next "@hourly" --from 2026-11-27T12:00:00+01:00
[[ "$OUT" == $'2026-11-27T12:00:00Z\n2026-11-27T13:00:00Z\n2026-11-27T14:00:00Z\n2026-11-27T15:00:00Z\n2026-11-27T16:00:00Z' ]] ||
  fail "unexpected hourly fire times: $OUT"

# Local time in a zone, across the spring-forward gap: 02:30 fires once, at 03:00 EDT.
expect_exit 0 "$REEL" schedule next "30 2 * * *" --tz America/New_York \
  --from 2026-03-07T00:00:00Z -n 3
[[ "$OUT" == $'2026-03-07T07:30:00Z\n2026-03-08T07:00:00Z\n2026-03-09T06:30:00Z' ]] ||
  fail "unexpected DST fire times: $OUT"

# Without --from it lists times after now: five strictly increasing instants.
expect_exit 0 "$REEL" schedule next "*/5 * * * *"
[[ "$(echo "$OUT" | wc -l)" == 5 ]] || fail "expected 5 lines: $OUT"
[[ "$(echo "$OUT" | sort -u)" == "$OUT" ]] || fail "not increasing: $OUT"

# Errors name the field and the bad token, exit 2, and print nothing on stdout.
expect_exit 2 "$REEL" schedule next "0 25 * * *" --from 2026-11-27T12:00:00Z
expect_contains "$ERR" "hour: '25' is out of range 0-23"
[[ -z "$OUT" ]] || fail "stdout should be empty on error: $OUT"

expect_exit 2 "$REEL" schedule next "0 9 * * MON-FRY"
expect_contains "$ERR" "day-of-week: 'FRY' is not a day name"

expect_exit 2 "$REEL" schedule next "*/0 * * * *"
expect_contains "$ERR" "minute: '*/0' has step '0'"

expect_exit 2 "$REEL" schedule next "0 9 * *"
expect_contains "$ERR" "expected 5 fields"

expect_exit 2 "$REEL" schedule next "0 9 * * *" --tz Mars/Base
expect_contains "$ERR" "unknown time zone 'Mars/Base'"

expect_exit 2 "$REEL" schedule next "0 9 * * *" --from 2026-02-30
expect_contains "$ERR" "'2026-02-30' is not an ISO-8601 instant"

expect_exit 2 "$REEL" schedule next "0 9 * * *" -n 0
expect_exit 2 "$REEL" schedule

expect_exit 0 "$REEL" schedule next --help
expect_contains "$OUT" "--tz"

echo "schedule_test: ok"
