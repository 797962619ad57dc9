#!/usr/bin/env bash
# What steps publish is known before the run: `reel operators NAME` shows it, and
# `reel validate` rejects templates that read anything else, or feed a param of the wrong type
# into a typed setting, or name an unknown data_quality check.
source "$(dirname "$0")/lib.sh"
inv="$REEL_SOURCE_DIR/tests/workflows/invalid"

expect_exit 0 "$REEL" operators feature_etl
expect_contains "$OUT" "outputs (steps.NAME.outputs.KEY):"
expect_contains "$OUT" "  interactions      (string) artifact uri of interactions.csv"
expect_contains "$OUT" "artifacts: interactions.csv, holdout.csv, user_features.csv, item_features.csv"
expect_exit 0 "$REEL" operators shell
expect_contains "$OUT" "exit_code  (int) the exit status of the command"
expect_contains "$OUT" "and those the step lists under outputs:"
expect_contains "$OUT" "artifacts: those the step lists under artifacts:"
expect_exit 0 "$REEL" operators noop
expect_contains "$OUT" "outputs: none"
# The example and hints of torch_train read the output feature_etl really publishes.
expect_exit 0 "$REEL" operators torch_train
expect_contains "$OUT" "steps.features.outputs.interactions"
expect_not_contains "$OUT" "outputs.train "
expect_not_contains "$OUT" "outputs.train }"
expect_exit 0 "$REEL" operators --json
echo "$OUT" | /usr/bin/python3 -c '
import json, sys
ops = {o["name"]: o for o in json.load(sys.stdin)}
assert [o["name"] for o in ops["torch_train"]["outputs"]] == ["model", "final_loss", "epochs", "examples_per_s"], ops["torch_train"]
assert ops["torch_train"]["artifacts"] == ["model"]
assert ops["noop"]["outputs"] == [] and ops["noop"]["artifacts"] == []
assert ops["shell"]["open_outputs"] is True and ops["feature_etl"]["open_outputs"] is False
assert {"name": "interactions", "type": "string", "description": "artifact uri of interactions.csv, the training interactions"} in ops["feature_etl"]["outputs"]
for o in ops.values():
    assert o["outputs"] is not None, o["name"]
'

# Every shipped workflow still validates.
for f in "$REEL_SOURCE_DIR"/workflows/*.yaml "$REEL_SOURCE_DIR"/examples/workflows/*.yaml \
  "$REEL_SOURCE_DIR"/tests/workflows/valid/*.yaml; do
  expect_exit 0 "$REEL" validate "$f"
done

expect_exit 2 "$REEL" validate "$inv/unknown_output.yaml"
expect_contains "$ERR" "unknown_output.yaml:16:27: error: step 'features' (operator 'feature_etl') has no output 'train'"
expect_contains "$ERR" "hint: did you mean steps.features.outputs.train_rows?"
expect_contains "$ERR" "unknown_output.yaml:17:21: error: step 'features' (operator 'feature_etl') has no artifact 'interactions'"
expect_contains "$ERR" 'did you mean steps.features.artifacts["interactions.csv"]?'
expect_exit 2 "$REEL" validate "$inv/param_type.yaml"
expect_contains "$ERR" "param_type.yaml:10:21: error: setting 'seconds' of operator 'sleep' must be float, but param 'wait' it reads is string"
expect_contains "$ERR" "param_type.yaml:11:33: error: foreach of step 'b' reads param 'wait', which is string, not a list"
expect_not_contains "$ERR" "param 'steps'"
expect_exit 2 "$REEL" validate "$inv/unknown_quality_check.yaml"
expect_contains "$ERR" "unknown_quality_check.yaml:11:19: error: data_quality: unknown check 'null_rte'"
expect_contains "$ERR" "did you mean 'null_rate'?"

# A process step: exit_code and what it lists under outputs:/artifacts:, anything if it lists
# none; the run itself is not needed to tell.
cat > "$WORK/process.yaml" <<'YAML'
name: process
steps:
  export:
    operator: shell
    outputs: [rows]
    artifacts: [model.pt]
    with: {command: [true]}
  free: {operator: shell, with: {command: [true]}}
  use:
    operator: shell
    needs: [export, free]
    with:
      command: [echo, "{{ steps.export.outputs.rows }}", "{{ steps.export.outputs.exit_code }}",
                "{{ steps.free.outputs.anything }}"]
YAML
expect_exit 0 "$REEL" validate "$WORK/process.yaml"
sed 's/outputs.rows }}/outputs.row }}/' "$WORK/process.yaml" > "$WORK/process_typo.yaml"
expect_exit 2 "$REEL" validate "$WORK/process_typo.yaml"
expect_contains "$ERR" "process_typo.yaml:13:27: error: step 'export' (operator 'shell') has no output 'row'"
expect_contains "$ERR" "did you mean steps.export.outputs.rows? 'export' publishes outputs: exit_code, rows; declare more under outputs: in step 'export'"
[[ ! -e "$REEL_HOME" ]] || fail "validation wrote into the home"
echo "outputs: ok"
