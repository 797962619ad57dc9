#!/usr/bin/env bash
# Two reel processes on the same work: two backfills of one range run each date once between
# them, and two resumes of one run run its failed step once.
source "$(dirname "$0")/lib.sh"

# --- Concurrent backfills of the same range -----------------------------------------------
cat >"$WORK/count.yaml" <<'YAML'
name: count
schedule: {cron: "0 3 * * *", timezone: UTC}
steps:
  work:
    operator: shell
    with: {command: [sh, -c, 'echo "$1" >> "$0"; sleep 0.2', "{{ env.COUNT_FILE }}", "{{ ds }}"]}
YAML
export COUNT_FILE="$WORK/count"
"$REEL" backfill "$WORK/count.yaml" --from 2026-03-01 --to 2026-03-12 --parallel 2 \
  >"$WORK/a.out" 2>"$WORK/a.err" &
a=$!
"$REEL" backfill "$WORK/count.yaml" --from 2026-03-01 --to 2026-03-12 --parallel 2 \
  >"$WORK/b.out" 2>"$WORK/b.err" &
b=$!
set +e
wait "$a"; rc_a=$?
wait "$b"; rc_b=$?
set -e
[[ $rc_a -le 1 && $rc_b -le 1 ]] || { cat "$WORK"/[ab].err >&2; fail "backfills exited $rc_a and $rc_b"; }
[[ $(wc -l <"$COUNT_FILE") == 12 ]] || { sort "$COUNT_FILE" >&2; fail "12 dates ran $(wc -l <"$COUNT_FILE") times"; }
[[ $(sort -u "$COUNT_FILE" | wc -l) == 12 ]] || fail "some date ran twice"
expect_exit 0 "$REEL" runs --workflow count --json
echo "$OUT" | python3 -c '
import json, sys
runs = json.load(sys.stdin)
dates = sorted(r["logical_date"] for r in runs)
assert dates == ["2026-03-%02d" % d for d in range(1, 13)], dates
assert all(r["status"] == "succeeded" for r in runs), runs
'
# Whichever lost a date said so (unless one finished before the other looked).
if [[ $rc_a == 1 || $rc_b == 1 ]]; then
  expect_contains "$(cat "$WORK/a.err" "$WORK/b.err")" "another process started"
fi

# --- Concurrent resumes of the same run ----------------------------------------------------
cat >"$WORK/fix.yaml" <<'YAML'
name: fix
steps:
  first:
    operator: shell
    with: {command: [sh, -c, 'echo ran >> "$0"', "{{ env.FIRST_FILE }}"]}
  second:
    operator: shell
    needs: [first]
    with: {command: [sh, -c, 'echo ran >> "$0"; sleep 0.5; test -e "$1"', "{{ env.SECOND_FILE }}", "{{ env.FIXED }}"]}
YAML
export FIRST_FILE="$WORK/first" SECOND_FILE="$WORK/second" FIXED="$WORK/fixed"
expect_exit 1 "$REEL" run "$WORK/fix.yaml"
expect_exit 0 "$REEL" runs --workflow fix --json
run_id=$(echo "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["run_id"])')
touch "$FIXED"
"$REEL" resume "$run_id" >"$WORK/r1.out" 2>"$WORK/r1.err" &
r1=$!
"$REEL" resume "$run_id" >"$WORK/r2.out" 2>"$WORK/r2.err" &
r2=$!
set +e
wait "$r1"; rc1=$?
wait "$r2"; rc2=$?
set -e
# One resume ran the failed step; the other refused before running anything.
[[ $(wc -l <"$SECOND_FILE") == 2 ]] || fail "'second' ran $(wc -l <"$SECOND_FILE") times, expected 2 (the failure and one resume)"
[[ $(wc -l <"$FIRST_FILE") == 1 ]] || fail "'first' ran again"
[[ $((rc1 + rc2)) == 1 ]] || { cat "$WORK"/r?.err >&2; fail "resumes exited $rc1 and $rc2, expected one 0 and one 1"; }
expect_contains "$(cat "$WORK/r1.err" "$WORK/r2.err")" "already"
expect_contains "$(cat "$WORK/r1.err" "$WORK/r2.err")" "resumed by run"
echo "concurrency: ok"
