#!/usr/bin/env bash
# Steps never outlive their engine, however it dies: a SIGKILL to the engine's whole process
# group (as a CI runner or `kill -9 -- -PGID` sends it), `timeout -s KILL`, for `reel run`,
# `reel serve` and `reel backfill` alike. Each engine runs in a session of its own (setsid), so
# that it leads its own process group.
source "$(dirname "$0")/lib.sh"

# A step whose grandchild (a sleep, in the step's own process group) records its pid.
cat >"$WORK/long.yaml" <<'YAML'
name: long
schedule: {cron: "0 3 * * *", timezone: UTC}
steps:
  slow:
    operator: shell
    with: {command: [sh, -c, 'sleep 60 & echo $! > "$0/sleep.$1.pid"; wait', "{{ env.PIDS }}", "{{ ds }}"]}
YAML
mkdir -p "$WORK/wf" "$WORK/pids"
cp "$WORK/long.yaml" "$WORK/wf/long.yaml"
export PIDS="$WORK/pids"

alive() { [[ -e /proc/$1 ]] && ! grep -q ') Z' "/proc/$1/stat" 2>/dev/null; }  # zombies are dead

# wait_for_file PATH: until PATH is non-empty (10 s at most).
wait_for_file() {
  for _ in $(seq 200); do
    [[ -s "$1" ]] && return 0
    sleep 0.05
  done
  fail "$1 did not appear"
}

# expect_dies PID WHAT: PID is gone within 5 s.
expect_dies() {
  for _ in $(seq 100); do
    alive "$1" || return 0
    sleep 0.05
  done
  kill -9 "$1" 2>/dev/null || true
  fail "$2: the step's sleep (pid $1) outlived the killed engine"
}

# kill_group_test WHAT DS CMD...: starts CMD in a session of its own, waits for the step's sleep
# for logical date DS, SIGKILLs the engine's whole process group, expects the sleep to die.
kill_group_test() {
  local what="$1" ds="$2"
  shift 2
  setsid "$@" >"$WORK/$ds.out" 2>&1 &
  local pid=$!
  wait_for_file "$PIDS/sleep.$ds.pid"
  local sleep_pid
  sleep_pid=$(cat "$PIDS/sleep.$ds.pid")
  alive "$sleep_pid" || fail "$what: the step's sleep is not running"
  [[ $(ps -o pgid= -p "$pid" | tr -d ' ') == "$pid" ]] || fail "$what: reel does not lead its group"
  kill -9 -- "-$pid"
  wait "$pid" 2>/dev/null || true
  expect_dies "$sleep_pid" "$what"
}

kill_group_test "reel run" 2026-03-01 "$REEL" run "$WORK/long.yaml" --date 2026-03-01
kill_group_test "reel backfill" 2026-03-02 \
  "$REEL" backfill "$WORK/long.yaml" --from 2026-03-02 --to 2026-03-02
kill_group_test "reel serve" 2026-03-03 \
  "$REEL" serve --workflows "$WORK/wf" --once --now 2026-03-04T03:00:00Z

# timeout -s KILL signals the command and then its own process group, which reel shares.
set +e
timeout -s KILL 3 "$REEL" run "$WORK/long.yaml" --date 2026-03-05 &>"$WORK/timeout.out" &
{ wait $!; } 2>/dev/null
rc=$?
set -e
[[ $rc == 137 ]] || fail "timeout -s KILL exited $rc, expected 137"
[[ -s "$PIDS/sleep.2026-03-05.pid" ]] || fail "the step did not start within 3 s"
expect_dies "$(cat "$PIDS/sleep.2026-03-05.pid")" "timeout -s KILL"

# Each killed run is noticed by the next command and marked failed. (Not the last one: its
# reel, orphaned by the killed `timeout`, stays a zombie until PID 1 reaps it.)
expect_exit 0 "$REEL" runs --json
echo "$OUT" | python3 -c '
import json, sys
runs = {r["logical_date"]: r["status"] for r in json.load(sys.stdin)}
assert all(runs[f"2026-03-0{d}"] == "failed" for d in (1, 2, 3)), runs
'
echo "engine death: ok"
