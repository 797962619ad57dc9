#!/usr/bin/env bash
# reel validate / graph / operators on shipped and broken workflows.
source "$(dirname "$0")/lib.sh"

expect_exit 0 "$REEL" validate "$REEL_SOURCE_DIR/examples/workflows/hello.yaml"
expect_contains "$OUT" "ok (workflow hello"

# Every invalid corpus file: exit 2, an error with file:line:col, nothing written.
for f in "$REEL_SOURCE_DIR"/tests/workflows/invalid/*.yaml; do
  expect_exit 2 "$REEL" validate "$f"
  expect_contains "$ERR" "error:"
done
[[ ! -e "$REEL_HOME" ]] || fail "validate wrote into the home"

# Several files: all are checked, the exit code reflects the worst.
expect_exit 2 "$REEL" validate "$REEL_SOURCE_DIR/examples/workflows/hello.yaml" \
  "$REEL_SOURCE_DIR/tests/workflows/invalid/cycle.yaml"
expect_contains "$OUT" "hello.yaml: ok"
expect_contains "$ERR" "cycle in needs: a -> b -> c -> a"

expect_exit 2 "$REEL" validate "$WORK/missing.yaml"
expect_contains "$ERR" "cannot open file"

expect_exit 0 "$REEL" graph "$REEL_SOURCE_DIR/examples/workflows/hello.yaml"
expect_contains "$OUT" "hello: 4 steps, 3 edges"
expect_exit 0 "$REEL" graph "$REEL_SOURCE_DIR/examples/workflows/hello.yaml" --format dot
expect_contains "$OUT" '"prepare" -> "train";'
expect_exit 0 "$REEL" graph "$REEL_SOURCE_DIR/examples/workflows/hello.yaml" --format json
expect_contains "$OUT" '"order": ['
expect_exit 2 "$REEL" graph "$REEL_SOURCE_DIR/examples/workflows/hello.yaml" --format svg

expect_exit 0 "$REEL" operators
expect_contains "$OUT" "sleep"
expect_exit 0 "$REEL" operators sleep
expect_contains "$OUT" "seconds"
expect_exit 0 "$REEL" operators --json
expect_contains "$OUT" '"name": "noop"'
expect_exit 2 "$REEL" operators slep
expect_contains "$ERR" "did you mean 'sleep'"

expect_exit 0 "$REEL" --version
expect_contains "$OUT" "reel "
echo "validate: ok"
