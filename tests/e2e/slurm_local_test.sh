#!/usr/bin/env bash
# scripts/slurm-local: a real single-node Slurm cluster in a state folder. It comes up from
# nothing, runs batch, multi-task, array and cancelled jobs with the states and exit codes
# that squeue and `sacct -c` report, restarts from its own state, coexists with a second
# cluster in another folder, and `down` leaves no daemon or job behind.
source "$(dirname "$0")/lib.sh"

require_slurm

SL="$REEL_SOURCE_DIR/scripts/slurm-local"
A="$WORK/slurm-a"
B="$WORK/slurm-b"
# Whatever happens, no daemon outlives the test.
trap '"$SL" down "$A" >/dev/null 2>&1 || true; "$SL" down "$B" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

WAIT_FOR_SECONDS=30

# Processes whose command line names the folder $1 (zombies do not count).
live_processes_of() {
  local pid state out=""
  for pid in $(pgrep -f -- "$1/" || true); do
    state="$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null)" || continue
    [[ "$state" == Z ]] || out+="$pid $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")"$'\n'
  done
  printf '%s' "$out"
}

sacct_is() { [[ "$(sacct -c -j "$1" -n -P -o State,ExitCode 2>/dev/null)" == "$2" ]]; }
sacct_state_is() { [[ "$(sacct -c -j "$1" -n -P -o State 2>/dev/null)" == "$2" ]]; }
array_completed() {
  [[ "$(squeue -h -t all -r -j "$1" -o %T 2>/dev/null | sort | uniq -c | tr -s ' ')" == " 4 COMPLETED" ]]
}
squeue_state_is() { [[ "$(squeue -h -t all -j "$1" -o %T 2>/dev/null)" == "$2" ]]; }

# --- usage errors
expect_exit 2 "$SL"
expect_contains "$ERR" "usage: slurm-local up [STATE_DIR]"
expect_exit 2 "$SL" start "$A"
expect_exit 2 "$SL" up --purge "$A"
expect_exit 2 "$SL" up "$A" "$B"
expect_exit 1 "$SL" status "$A"
expect_contains "$OUT" "slurmctld: stopped"
expect_exit 0 "$SL" down "$A" # nothing runs: fine
expect_exit 0 "$SL" env "$A"
[[ "$OUT" == "export SLURM_CONF=$A/slurm.conf" ]] || fail "env printed: $OUT"

# run_cycle N: up (fresh the first time, from the saved state the second), jobs, down.
run_cycle() {
  expect_exit 0 "$SL" up "$A"
  [[ "$OUT" == "export SLURM_CONF=$A/slurm.conf" ]] || fail "up printed: $OUT"
  eval "$OUT"
  [[ "$(stat -c %a "$A/munge/munge.key")" == 400 ]] || fail "munge key is not 0400"
  [[ "$(stat -c %a "$A/munge")" == 711 ]] || fail "munge socket folder is not 0711"

  expect_exit 0 "$SL" status "$A"
  expect_contains "$OUT" "slurmd: running"
  expect_contains "$OUT" "idle"
  local pids_before
  pids_before="$(cat "$A"/run/*.pid)"
  # Idempotent: a running cluster is left as it is.
  expect_exit 0 "$SL" up "$A"
  [[ "$OUT" == "export SLURM_CONF=$A/slurm.conf" ]] || fail "second up printed: $OUT"
  [[ "$(cat "$A"/run/*.pid)" == "$pids_before" ]] || fail "second up restarted daemons"

  # A failing batch job: --wait returns its exit code; sacct -c keeps State and ExitCode.
  expect_exit 3 sbatch --parsable --wait -o "$WORK/fail.out" --wrap 'exit 3'
  local failed="$OUT"
  [[ "$failed" =~ ^[0-9]+$ ]] || fail "sbatch --parsable printed: $failed"
  wait_for "job $failed in jobcomp" sacct_is "$failed" "FAILED|3:0"
  expect_exit 0 squeue -h -t all -j "$failed" -o '%i|%T|%r'
  [[ "$OUT" == "$failed|FAILED|NonZeroExitCode" ]] || fail "squeue of job $failed: $OUT"

  # Two tasks on the two cores: srun gives each its rank.
  expect_exit 0 sbatch --parsable -n 2 -o "$WORK/ranks.out" \
    --wrap 'srun bash -c "echo rank=\$SLURM_PROCID"'
  wait_for "2-task job $OUT completed" squeue_state_is "$OUT" COMPLETED
  local ranks
  ranks="$(sort "$WORK/ranks.out")"
  [[ "$ranks" == $'rank=0\nrank=1' ]] || fail "ranks of the 2-task job: $ranks"

  # An array of 4, at most 2 at a time: 4 tasks completed.
  expect_exit 0 sbatch --parsable --array=0-3%2 -o /dev/null --wrap 'true'
  local array="$OUT"
  wait_for "array $array completed" array_completed "$array"
  expect_exit 0 squeue -h -t all -r -j "$array" -o '%K|%T'
  [[ "$(sort <<<"$OUT")" == $'0|COMPLETED\n1|COMPLETED\n2|COMPLETED\n3|COMPLETED' ]] ||
    fail "array $array tasks: $OUT"

  # scancel of a running job: CANCELLED.
  expect_exit 0 sbatch --parsable -o /dev/null --wrap 'sleep 60'
  local sleeper="$OUT"
  wait_for "job $sleeper running" squeue_state_is "$sleeper" RUNNING
  expect_exit 0 scancel "$sleeper"
  wait_for "job $sleeper cancelled" squeue_state_is "$sleeper" CANCELLED
  wait_for "job $sleeper cancelled in jobcomp" sacct_state_is "$sleeper" CANCELLED

  # A job still running at `down` is stopped with the cluster.
  expect_exit 0 sbatch --parsable -o /dev/null --wrap 'sleep 300'
  local left="$OUT"
  wait_for "job $left running" squeue_state_is "$left" RUNNING

  expect_exit 0 "$SL" down "$A"
  local left_over
  left_over="$(live_processes_of "$A")"
  [[ -z "$left_over" ]] || fail "left running after down: $left_over"
  expect_exit 1 "$SL" status "$A"
  expect_contains "$OUT" "munged: stopped"
  expect_exit 0 "$SL" down "$A" # again: nothing to stop
  unset SLURM_CONF
}

run_cycle
run_cycle # restarts from the state the first cycle left

# Two clusters at once, in two folders with their own ports.
expect_exit 0 "$SL" up "$A"
expect_exit 0 "$SL" up "$B"
[[ "$OUT" == "export SLURM_CONF=$B/slurm.conf" ]] || fail "up of B printed: $OUT"
ports_a="$(grep -E '^Slurm(ctld|d)Port=' "$A/slurm.conf")"
ports_b="$(grep -E '^Slurm(ctld|d)Port=' "$B/slurm.conf")"
[[ "$ports_a" != "$ports_b" ]] || fail "both clusters use the same ports: $ports_a"
expect_exit 0 env SLURM_CONF="$B/slurm.conf" sbatch --parsable -o /dev/null --wrap 'exit 5'
b_job="$OUT"
expect_exit 0 env SLURM_CONF="$A/slurm.conf" sbatch --parsable -o /dev/null --wrap 'exit 6'
a_job="$OUT"
export SLURM_CONF="$A/slurm.conf"
wait_for "job $a_job of A in jobcomp" sacct_is "$a_job" "FAILED|6:0"
export SLURM_CONF="$B/slurm.conf"
wait_for "job $b_job of B in jobcomp" sacct_is "$b_job" "FAILED|5:0"
expect_exit 0 "$SL" down --purge "$B"
[[ ! -e "$B" ]] || fail "down --purge left $B"
[[ -z "$(live_processes_of "$B")" ]] || fail "B left running: $(live_processes_of "$B")"
expect_exit 0 "$SL" status "$A" # A is unaffected
expect_exit 0 "$SL" down "$A"
[[ -z "$(live_processes_of "$A")" ]] || fail "A left running: $(live_processes_of "$A")"
echo "ok"
