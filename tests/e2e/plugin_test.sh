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

# reel serve loads the plugins its workflow files name.
mkdir -p "$WORK/wf/plugin"
ln -s "$lib" "$WORK/wf/plugin/libreel_word_count.so"
sed 's/^name: count$/name: scheduled_count\nschedule: {cron: "0 3 * * *", timezone: UTC}/' \
  "$WORK/count.yaml" > "$WORK/wf/count.yaml"
expect_exit 0 "$REEL" serve --workflows "$WORK/wf" --once --now 2026-11-29T03:00:00Z
expect_contains "$OUT" "loaded count.yaml: workflow scheduled_count"
expect_contains "$OUT" "finished scheduled_count ds=2026-11-28"
expect_exit 0 "$REEL" runs --workflow scheduled_count --json
expect_contains "$OUT" '"status": "succeeded"'

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
