#!/usr/bin/env bash
# The example plugin, built out of tree, loaded with --plugin, plugins: and REEL_PLUGIN_PATH.
source "$(dirname "$0")/lib.sh"
: "${REEL_BUILD_DIR:?}"

cmake -S "$REEL_SOURCE_DIR/examples/plugin" -B "$WORK/plugin" -G Ninja \
  -DREEL_SOURCE_DIR="$REEL_SOURCE_DIR" >/dev/null
cmake --build "$WORK/plugin" >/dev/null
lib="$WORK/plugin/libreel_word_count.so"
[[ -f "$lib" ]] || fail "the plugin did not build"

expect_exit 0 "$REEL" --plugin "$lib" operators word_count
expect_contains "$OUT" "Counts lines, words and bytes"

printf 'one two three\nfour five\n' > "$WORK/text.txt"
cat > "$WORK/count.yaml" <<YAML
name: count
plugins: [plugin/libreel_word_count.so]
steps:
  count: {operator: word_count, with: {path: "$WORK/text.txt"}}
  check:
    operator: shell
    needs: [count]
    with: {command: [test, "{{ steps.count.outputs.words }}", "=", "5"]}
YAML
expect_exit 0 "$REEL" run "$WORK/count.yaml"
expect_contains "$OUT" "succeeded"

# Through REEL_PLUGIN_PATH, and an operator failure becomes a failed step.
sed -i '/^plugins:/d' "$WORK/count.yaml"
sed -i 's/path: /min_words: 100, path: /' "$WORK/count.yaml"
REEL_PLUGIN_PATH="$lib" expect_exit 1 "$REEL" run "$WORK/count.yaml"
expect_contains "$ERR" "has only 5 words"

# Without the plugin the operator is unknown: a validation error.
expect_exit 2 "$REEL" validate "$WORK/count.yaml"
expect_contains "$ERR" "unknown operator 'word_count'"

# A library that is not a plugin gets a clear error.
expect_exit 2 "$REEL" --plugin "$(ls /usr/lib/x86_64-linux-gnu/libz.so* | head -1)" operators
expect_contains "$ERR" "is not a reel plugin"
echo "plugin: ok"
