#!/usr/bin/env bash
# reel backfill: plan, run, skip what succeeded, reprocess failures, resume after Ctrl-C.
source "$(dirname "$0")/lib.sh"

cat >"$WORK/nightly.yaml" <<'YAML'
name: nightly
schedule: {cron: "0 3 * * *", timezone: UTC}
steps:
  extract: {operator: noop}
  check:
    operator: shell
    needs: [extract]
    with: {command: [sh, -c, 'test "$0" != "$1"', "{{ ds }}", "{{ env.FAIL_DS }}"]}
YAML
export FAIL_DS=none
wf="$WORK/nightly.yaml"

# A dry run prints the plan and writes nothing, not even the home.
expect_exit 0 "$REEL" backfill "$wf" --from 2026-01-01 --to 2026-01-05 --dry-run
expect_contains "$OUT" "5 date(s), 5 to run"
expect_contains "$OUT" "2026-01-01  run"
expect_contains "$OUT" "2026-01-05  run"
[[ ! -e "$REEL_HOME" ]] || fail "--dry-run created $REEL_HOME"

expect_exit 0 "$REEL" backfill "$wf" --from 2026-01-01 --to 2026-01-05 --parallel 2
expect_contains "$OUT" "5 succeeded, 0 failed"
expect_exit 0 "$REEL" runs --workflow nightly --json
echo "$OUT" | python3 -c '
import json, sys
runs = json.load(sys.stdin)
assert len(runs) == 5, runs
assert {r["logical_date"] for r in runs} == {"2026-01-0%d" % d for d in range(1, 6)}, runs
assert all(r["trigger"] == "backfill" and r["status"] == "succeeded" for r in runs), runs
'

# Again: everything is skipped; a dry run says why.
expect_exit 0 "$REEL" backfill "$wf" --from 2026-01-01 --to 2026-01-05
expect_contains "$OUT" "0 succeeded, 0 failed, 0 cancelled, 5 skipped (5 already succeeded)"
expect_exit 0 "$REEL" backfill "$wf" --from 2026-01-01 --to 2026-01-05 --dry-run
expect_contains "$OUT" "2026-01-03  skip (succeeded)"

# A failing date: exit 1; a plain rerun leaves it (and says how to rerun it).
FAIL_DS=2026-01-07 expect_exit 1 "$REEL" backfill "$wf" --from 2026-01-06 --to 2026-01-08 --reverse
expect_contains "$OUT" "2 succeeded, 1 failed"
expect_contains "$ERR" "2026-01-07 failed"
expect_exit 1 "$REEL" backfill "$wf" --from 2026-01-06 --to 2026-01-08
expect_contains "$ERR" "--reprocess failed"
expect_exit 0 "$REEL" backfill "$wf" --from 2026-01-06 --to 2026-01-08 --reprocess failed --dry-run
expect_contains "$OUT" "2026-01-07  rerun"
expect_contains "$OUT" "2026-01-08  skip (succeeded)"
expect_exit 0 "$REEL" backfill "$wf" --from 2026-01-06 --to 2026-01-08 --reprocess failed
expect_contains "$OUT" "1 succeeded, 0 failed"

# Usage errors: exit 2.
expect_exit 2 "$REEL" backfill "$wf" --from 2026-01-05 --to 2026-01-01
expect_contains "$ERR" "reversed"
expect_exit 2 "$REEL" backfill "$wf" --from 2026-01-01 --to 2026-01-02 --reprocess some
expect_exit 2 "$REEL" backfill "$wf" --from 2026-01-01 --to 2026-01-02 -p nope=1
expect_contains "$ERR" "has no param 'nope'"

# Interrupted with SIGINT: running runs are cancelled; the same command then does the rest.
cat >"$WORK/slow.yaml" <<'YAML'
name: slow
steps:
  wait: {operator: sleep, with: {seconds: 0.4}}
YAML
"$REEL" backfill "$WORK/slow.yaml" --from 2026-02-01 --to 2026-02-08 >"$WORK/int.out" 2>"$WORK/int.err" &
pid=$!
for _ in $(seq 1 100); do
  grep -q "2026-02-01 succeeded" "$WORK/int.err" 2>/dev/null && break
  sleep 0.05
done
kill -INT "$pid"
set +e; wait "$pid"; rc=$?; set -e
[[ $rc == 1 ]] || { cat "$WORK/int.err" >&2; fail "interrupted backfill exited $rc, expected 1"; }
expect_contains "$(cat "$WORK/int.err")" "run the same command again"
expect_exit 0 "$REEL" backfill "$WORK/slow.yaml" --from 2026-02-01 --to 2026-02-08 --dry-run
expect_contains "$OUT" "2026-02-01  skip (succeeded)"
expect_contains "$OUT" "2026-02-08  run"
expect_exit 0 "$REEL" backfill "$WORK/slow.yaml" --from 2026-02-01 --to 2026-02-08 --parallel 4
expect_exit 0 "$REEL" runs --workflow slow --status succeeded --json
echo "$OUT" | python3 -c '
import json, sys
runs = json.load(sys.stdin)
dates = sorted(r["logical_date"] for r in runs)
assert dates == ["2026-02-0%d" % d for d in range(1, 9)], dates  # each date succeeded once
'
