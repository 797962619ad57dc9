#!/usr/bin/env bash
# A reel process killed with SIGKILL mid-run: the step's processes die with it (grandchildren
# included), the next command marks the run failed, and resume completes it without re-running
# what had succeeded.
source "$(dirname "$0")/lib.sh"

cat > "$WORK/long.yaml" <<'YAML'
name: long
steps:
  first:
    operator: shell
    with: {command: [sh, -c, 'echo ran >> "$0"', "{{ env.COUNT_FILE }}"]}
  slow:
    operator: shell
    needs: [first]
    with: {command: [sh, -c, 'test -e "$0" || { sleep 60 & echo $! > "$0.pid"; wait; }', "{{ env.MARKER }}"]}
  last: {operator: noop, needs: [slow]}
YAML
export COUNT_FILE="$WORK/count" MARKER="$WORK/marker"
"$REEL" run "$WORK/long.yaml" >"$WORK/run.out" 2>&1 &
pid=$!
for _ in $(seq 100); do
  [[ -s "$MARKER.pid" ]] && break
  sleep 0.1
done
grandchild=$(cat "$MARKER.pid")
alive() { [[ -e /proc/$1 ]] && ! grep -q ') Z' "/proc/$1/stat" 2>/dev/null; }  # zombies are dead
alive "$grandchild" || fail "the slow step's sleep is not running"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
for _ in $(seq 50); do
  alive "$grandchild" || break
  sleep 0.1
done
! alive "$grandchild" || fail "the step's sleep outlived the killed engine"

expect_exit 0 "$REEL" runs --json
expect_contains "$ERR" "marked it failed"
run_id=$(echo "$OUT" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)[0]; assert r["status"]=="failed", r; print(r["run_id"])')

touch "$MARKER"
expect_exit 0 "$REEL" resume "$run_id"
[[ $(wc -l < "$COUNT_FILE") == 1 ]] || fail "resume re-ran 'first'"
expect_contains "$OUT" "succeeded"
echo "crash resume: ok"
