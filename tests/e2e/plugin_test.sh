#!/usr/bin/env bash
# The example plugin, built out of tree, loaded with --plugin, plugins: and REEL_PLUGIN_PATH; a
# workflow file names only plugins the user trusts.
source "$(dirname "$0")/lib.sh"
: "${REEL_BUILD_DIR:?}"

cmake -S "$REEL_SOURCE_DIR/examples/plugin" -B "$WORK/plugin" -G Ninja \
  -DREEL_SOURCE_DIR="$REEL_SOURCE_DIR" >/dev/null
cmake --build "$WORK/plugin" >/dev/null
lib="$WORK/plugin/libreel_word_count.so"
[[ -f "$lib" ]] || fail "the plugin did not build"

expect_exit 0 "$REEL" --plugin "$lib" operators word_count
expect_contains "$OUT" "Counts lines, words and bytes"
# The outputs it declares are shown, and templates that read others are rejected.
expect_contains "$OUT" "words  (int) words in the file"
cat > "$WORK/typo.yaml" <<YAML
name: typo
steps:
  count: {operator: word_count, with: {path: README.md}}
  check: {operator: shell, needs: [count], with: {command: [echo, "{{ steps.count.outputs.wrds }}"]}}
YAML
expect_exit 2 "$REEL" --plugin "$lib" validate "$WORK/typo.yaml"
expect_contains "$ERR" "typo.yaml:4:71: error: step 'count' (operator 'word_count') has no output 'wrds'"
expect_contains "$ERR" "did you mean steps.count.outputs.words?"
# Global flags also follow the subcommand.
expect_exit 0 "$REEL" operators word_count --plugin "$lib"
expect_contains "$OUT" "Counts lines, words and bytes"
# Two plugins that register the same operator: the error names it and both files.
cp "$lib" "$WORK/copy_of_word_count.so"
expect_exit 2 "$REEL" --plugin "$lib" --plugin "$WORK/copy_of_word_count.so" operators
expect_contains "$ERR" "operator 'word_count' is registered twice: by plugin '$lib' and by plugin '$WORK/copy_of_word_count.so'"

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
# A plugin the workflow names is loaded only when the user trusts it: an error at its entry
# that says how, before anything is written.
expect_exit 2 "$REEL" run "$WORK/count.yaml"
expect_contains "$ERR" "count.yaml:2:11: error: plugin '$WORK/plugin/libreel_word_count.so' is not trusted"
expect_contains "$ERR" "--plugin"
[[ ! -e "$REEL_HOME" ]] || fail "an untrusted plugin let the run write into the home"
# Trusted through its folder in REEL_PLUGIN_PATH, through --plugin, or through plugin_dirs
# in the config of a home given explicitly.
REEL_PLUGIN_PATH="$WORK/plugin" expect_exit 0 "$REEL" run "$WORK/count.yaml"
expect_contains "$OUT" "succeeded"
expect_exit 0 "$REEL" --plugin "$lib" validate "$WORK/count.yaml"
mkdir -p "$REEL_HOME"
echo "plugin_dirs: [$WORK/plugin]" > "$REEL_HOME/config.yaml"
expect_exit 0 "$REEL" validate "$WORK/count.yaml"
# The default home (./.reel) may be part of an untrusted checkout: its config is not read.
mkdir -p "$WORK/.reel"
cp "$REEL_HOME/config.yaml" "$WORK/.reel/"
pushd "$WORK" >/dev/null
REEL_HOME= expect_exit 2 "$REEL" validate "$WORK/count.yaml"
popd >/dev/null
expect_contains "$ERR" "is not trusted"
rm "$REEL_HOME/config.yaml"

# reel serve loads the plugins its workflow files name, when trusted: a symbolic link in the
# watched folder is judged by the file it points to.
mkdir -p "$WORK/wf/plugin"
ln -s "$lib" "$WORK/wf/plugin/libreel_word_count.so"
sed 's/^name: count$/name: scheduled_count\nschedule: {cron: "0 3 * * *", timezone: UTC}/' \
  "$WORK/count.yaml" > "$WORK/wf/count.yaml"
expect_exit 0 "$REEL" serve --workflows "$WORK/wf" --once --now 2026-11-29T03:00:00Z
expect_contains "$OUT" "not trusted"
expect_not_contains "$OUT" "finished scheduled_count"
REEL_PLUGIN_PATH="$WORK/plugin" \
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

# Validating or drawing a workflow runs no code from it: a library whose constructor would
# leave a marker is not even opened when the workflow names it.
cat > "$WORK/marker.c" <<C
#include <stdio.h>
__attribute__((constructor)) static void leave_marker(void) {
  FILE* f = fopen("$WORK/marker", "w");
  if (f) fclose(f);
}
C
mkdir -p "$WORK/pr"
cc -shared -fPIC -o "$WORK/pr/libmarker.so" "$WORK/marker.c" || fail "cannot build the marker library"
cat > "$WORK/pr/workflow.yaml" <<'YAML'
name: pull_request
plugins: [libmarker.so]
steps:
  a: {operator: noop}
YAML
expect_exit 2 "$REEL" validate "$WORK/pr/workflow.yaml"
expect_contains "$ERR" "workflow.yaml:2:11: error: plugin '$WORK/pr/libmarker.so' is not trusted"
expect_exit 2 "$REEL" graph "$WORK/pr/workflow.yaml"
mkdir -p "$WORK/watched"
cp "$WORK/pr/workflow.yaml" "$WORK/pr/libmarker.so" "$WORK/watched/"
expect_exit 0 "$REEL" serve --workflows "$WORK/watched" --once --now 2026-11-29T03:00:00Z
[[ ! -e "$WORK/marker" ]] || fail "a plugin named by an untrusted workflow file was loaded"
# The marker works: a library the user names is loaded (and this one is no reel plugin).
expect_exit 2 "$REEL" --plugin "$WORK/pr/libmarker.so" operators
[[ -e "$WORK/marker" ]] || fail "the marker library leaves no marker"

# A library that is not a plugin gets a clear error.
expect_exit 2 "$REEL" --plugin "$(ls /usr/lib/x86_64-linux-gnu/libz.so* | head -1)" operators
expect_contains "$ERR" "is not a reel plugin"
echo "plugin: ok"
