#!/usr/bin/env bash
# examples/python: Python steps around the built-in training, from a fresh home, twice (the
# second run is all cache hits), then with one param changed.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
if [[ "${REEL_WITH_TORCH:-1}" != 1 ]]; then
  echo "built without LibTorch (REEL_WITH_TORCH=OFF): torch_train cannot run; skipping"
  exit 0
fi

"$REEL" example-data --out "$WORK/data" --users 300 --items 100 --days 40 >/dev/null
FLOW="$REEL_SOURCE_DIR/examples/python/workflow.yaml"
ARGS=(-p "events=$WORK/data/viewing_history.csv" -p ds=2024-02-05 -p epochs=2)
cd "$WORK"

expect_exit 0 "$REEL" validate "$FLOW"
expect_exit 0 "$REEL" run "$FLOW" "${ARGS[@]}"
first=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_exit 0 "$REEL" show "$first" --json
echo "$OUT" | $PY -c '
import json, sys
run = json.load(sys.stdin)
assert run["status"] == "succeeded", run
tasks = {t["step"]: t for t in run["tasks"]}
f = tasks["features"]
assert f["outputs"]["train_rows"] > 100 and f["outputs"]["users"] > 10, f["outputs"]
assert {a["name"] for a in f["artifacts"]} == {"interactions.csv", "holdout.csv"}, f["artifacts"]
assert tasks["train"]["outputs"]["epochs"] == 2
assert [m for m in tasks["train"]["metrics"] if m["key"] == "train.loss"], tasks["train"]["metrics"]
r = tasks["report"]
assert "lift_over_baseline" in r["outputs"], r
assert [a["name"] for a in r["artifacts"]] == ["report.md"], r["artifacts"]
assert [m["key"] for m in r["metrics"]] == ["candidate_recall_at_10"], r["metrics"]
assert all(t["cache"]["hit"] is False for t in run["tasks"]), run["tasks"]
'
expect_exit 0 "$REEL" logs "$first" report
expect_contains "$OUT" "recall@10: candidate"

# The same inputs again: every step comes from the cache.
expect_exit 0 "$REEL" run "$FLOW" "${ARGS[@]}"
second=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_exit 0 "$REEL" show "$second" --json
echo "$OUT" | $PY -c '
import json, sys
run = json.load(sys.stdin)
assert all(t["cache"]["hit"] is True for t in run["tasks"]), [(t["step"], t["cache"]) for t in run["tasks"]]
'

# One more epoch: features stays cached; train and what reads its model run again.
expect_exit 0 "$REEL" run "$FLOW" -p "events=$WORK/data/viewing_history.csv" -p ds=2024-02-05 -p epochs=3
third=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_exit 0 "$REEL" show "$third" --json
echo "$OUT" | $PY -c '
import json, sys
run = json.load(sys.stdin)
hits = {t["step"]: t["cache"]["hit"] for t in run["tasks"]}
assert hits == {"features": True, "train": False, "evaluate": False, "report": False}, hits
'
expect_exit 0 "$REEL" explain "$third" train
expect_contains "$OUT" "param 'epochs' changed: 2 -> 3"
