#!/usr/bin/env bash
# reel serve: single polls at a given instant (--once --now), reloads, the per-home lock,
# graceful SIGTERM.
source "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/wf"
cat >"$WORK/wf/daily.yaml" <<'YAML'
name: daily
schedule: {cron: "0 3 * * *", timezone: UTC, catchup: true, max_active_runs: 3}
steps:
  a: {operator: noop}
  b: {operator: noop, needs: [a]}
YAML
cat >"$WORK/wf/broken.yaml" <<'YAML'
name: broken
schedule: {cron: "0 3 * * *"}
steps:
  a: {operator: noop, needz: []}
YAML
serve=("$REEL" serve --workflows "$WORK/wf")

expect_exit 0 "${serve[@]}" --once --now 2026-11-29T03:00:00Z
expect_contains "$OUT" "loaded daily.yaml: workflow daily"
expect_contains "$OUT" "fired daily ds=2026-11-28 run="
expect_contains "$OUT" "finished daily ds=2026-11-28"
expect_contains "$OUT" "invalid broken.yaml"
expect_contains "$OUT" "did you mean 'needs'"

# The same instant again (a restart): nothing fires twice.
expect_exit 0 "${serve[@]}" --once --now 2026-11-29T03:00:00Z
expect_not_contains "$OUT" "fired"

# Three days later: the missed intervals, oldest first.
expect_exit 0 "${serve[@]}" --once --now 2026-12-02T03:00:05Z
expect_contains "$OUT" "caught up 3 intervals of daily (ds 2026-11-29..2026-12-01)"
expect_exit 0 "$REEL" runs --workflow daily --json
echo "$OUT" | python3 -c '
import json, sys
runs = json.load(sys.stdin)
dates = sorted(r["logical_date"] for r in runs)
assert dates == ["2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01"], dates
assert all(r["trigger"] == "schedule" and r["status"] == "succeeded" for r in runs), runs
'

# A changed file is a new version.
sed -i 's/b: {operator: noop, needs: \[a\]}/b: {operator: noop, needs: [a]}\n  c: {operator: noop}/' "$WORK/wf/daily.yaml"
expect_exit 0 "${serve[@]}" --once --now 2026-12-03T03:00:00Z
expect_contains "$OUT" "loaded daily.yaml"
expect_contains "$OUT" "fired daily ds=2026-12-02"

# Usage errors.
expect_exit 2 "${serve[@]}" --now 2026-12-03T03:00:00Z
expect_contains "$ERR" "--now only goes with --once"
expect_exit 2 "$REEL" serve --workflows "$WORK/nowhere" --once
expect_contains "$ERR" "does not exist"

# One daemon per home: the second is refused with the first one's pid; SIGTERM drains.
rm "$WORK/wf/broken.yaml"
"${serve[@]}" --poll 1s >"$WORK/serve.out" 2>"$WORK/serve.err" &
pid=$!
for _ in $(seq 1 200); do
  grep -q "serving" "$WORK/serve.out" 2>/dev/null && break
  sleep 0.05
done
grep -q "serving" "$WORK/serve.out" || { cat "$WORK/serve.err" >&2; fail "reel serve did not start"; }
expect_exit 2 "${serve[@]}" --once
expect_contains "$ERR" "already serving home"
expect_contains "$ERR" "pid $pid"
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
[[ $rc == 0 ]] || { cat "$WORK/serve.out" "$WORK/serve.err" >&2; fail "serve exited $rc after SIGTERM"; }
expect_contains "$(cat "$WORK/serve.out")" "stopped"
# The lock went with the process.
expect_exit 0 "${serve[@]}" --once --now 2026-12-03T03:00:00Z
