# Shared helpers for end-to-end tests: source it, then use a fresh home under $WORK.
# Each test runs the real reel binary ($REEL) against real files.
set -euo pipefail
: "${REEL:?REEL must point at the reel binary}"
: "${REEL_SOURCE_DIR:?REEL_SOURCE_DIR must point at the source tree}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/reel-e2e.XXXXXX")"
export REEL_HOME="$WORK/home"
trap 'rm -rf "$WORK"' EXIT
# A command that stops the test (set -e) names itself, so that no failure is silent.
set -E
trap 'rc=$?; [[ $- != *e* ]] || echo "${BASH_SOURCE[0]}:$LINENO: \`$BASH_COMMAND\` exited $rc" >&2' ERR

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# expect_exit CODE CMD...: runs CMD, stores stdout/stderr in $OUT/$ERR, checks the exit code.
expect_exit() {
  local want="$1"
  shift
  set +e
  "$@" >"$WORK/stdout" 2>"$WORK/stderr"
  local got=$?
  set -e
  OUT="$(cat "$WORK/stdout")"
  ERR="$(cat "$WORK/stderr")"
  if [[ "$got" != "$want" ]]; then
    echo "--- stdout" >&2; echo "$OUT" >&2
    echo "--- stderr" >&2; echo "$ERR" >&2
    fail "'$*' exited $got, expected $want"
  fi
}

# expect_contains HAYSTACK NEEDLE
expect_contains() {
  if [[ "$1" != *"$2"* ]]; then
    echo "--- in:" >&2; echo "$1" >&2
    fail "expected to find: $2"
  fi
}

expect_not_contains() {
  if [[ "$1" == *"$2"* ]]; then
    echo "--- in:" >&2; echo "$1" >&2
    fail "did not expect: $2"
  fi
}

# wait_for DESCRIPTION CMD...: polls CMD every 0.1 s until it succeeds, for at most
# $WAIT_FOR_SECONDS (60).
wait_for() {
  local what="$1" i
  shift
  for ((i = 0; i < ${WAIT_FOR_SECONDS:-60} * 10; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "timed out waiting for: $what"
}

# require_slurm: skips the test (exit 77) without slurm-wlm and munge (scripts/bootstrap), or
# without root, which scripts/slurm-local runs its daemons as.
require_slurm() {
  local tool
  for tool in munged slurmctld slurmd sbatch; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (scripts/bootstrap)"; exit 77; }
  done
  [[ $(id -u) -eq 0 ]] || { echo "SKIP: slurm-local runs its daemons as root"; exit 77; }
}

# start_slurm: a single-node cluster of the test's own in $WORK/slurm (scripts/slurm-local),
# with SLURM_CONF exported; stopped, with every job it ran, when the test exits.
start_slurm() {
  require_slurm
  SLURM_STATE="$WORK/slurm"
  trap '"$REEL_SOURCE_DIR/scripts/slurm-local" down "$SLURM_STATE" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
  eval "$("$REEL_SOURCE_DIR/scripts/slurm-local" up "$SLURM_STATE")"
  export SLURM_CONF
}
