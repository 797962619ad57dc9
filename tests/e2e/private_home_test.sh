#!/usr/bin/env bash
# What reel writes is its owner's alone, whatever the umask: a home it creates is 0700, reel.db
# (and its -wal and -shm) and logs 0600, their folders 0700. A secrets file that other users may
# read gets a warning, once per command.
source "$(dirname "$0")/lib.sh"

expect_mode() {
  [[ -e "$2" ]] || fail "$2 does not exist"
  local got
  got=$(stat -c %a "$2")
  [[ "$got" == "$1" ]] || fail "$2 has mode $got, expected $1"
}

umask 000
cat > "$WORK/hello.yaml" <<'YAML'
name: private
steps:
  hello: {operator: shell, with: {command: [echo, hello]}}
YAML
expect_exit 0 "$REEL" run "$WORK/hello.yaml"
run_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_mode 700 "$REEL_HOME"
expect_mode 600 "$REEL_HOME/reel.db"
for f in "$REEL_HOME/reel.db-wal" "$REEL_HOME/reel.db-shm"; do
  if [[ -e "$f" ]]; then expect_mode 600 "$f"; fi
done
expect_mode 700 "$REEL_HOME/logs"
expect_mode 700 "$REEL_HOME/logs/$run_id"
expect_mode 700 "$REEL_HOME/logs/$run_id/hello"
expect_mode 600 "$REEL_HOME/logs/$run_id/hello/1.log"
expect_mode 700 "$REEL_HOME/artifacts"

# While a run is in progress its WAL exists: 0600 too.
cat > "$WORK/slow.yaml" <<YAML
name: slow
steps:
  wait: {operator: shell, with: {command: [sh, -c, 'stat -c %a "\$0-wal" > "$WORK/wal-mode"', "$REEL_HOME/reel.db"]}}
YAML
expect_exit 0 "$REEL" run "$WORK/slow.yaml"
[[ "$(cat "$WORK/wal-mode")" == 600 ]] || fail "reel.db-wal had mode $(cat "$WORK/wal-mode")"

# secrets.json readable by others: one warning per command, however many secrets it resolves.
cat > "$WORK/secret.yaml" <<'YAML'
name: uses_secrets
steps:
  a: {operator: shell, with: {command: [echo, "{{ secrets.token }}"]}}
  b: {operator: shell, with: {command: [echo, "{{ secrets.token }}"]}}
YAML
echo '{"token": "tok-from-file"}' > "$REEL_HOME/secrets.json"
chmod 644 "$REEL_HOME/secrets.json"
expect_exit 0 "$REEL" run "$WORK/secret.yaml"
expect_contains "$ERR" "reel: warning: $REEL_HOME/secrets.json holds secrets but other users may read or change it (mode 0644); make it private: chmod 600 $REEL_HOME/secrets.json"
[[ $(grep -c "secrets.json holds secrets" <<<"$ERR") == 1 ]] || fail "the warning was not printed once"
chmod 600 "$REEL_HOME/secrets.json"
expect_exit 0 "$REEL" run "$WORK/secret.yaml"
expect_not_contains "$ERR" "warning"
echo "private home: ok"
