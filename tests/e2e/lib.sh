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
