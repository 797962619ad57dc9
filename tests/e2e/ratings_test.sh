#!/usr/bin/env bash
# examples/ratings on `reel example-data --shape ratings`: a bursty ratings log whose holdout
# users are mostly cold. evaluate splits warm and cold users (cold ones get the popularity
# fallback), computes popularity and item-kNN baselines, and the gate refuses to decide on too
# few warm users, then decides with intervals when allowed to.
source "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
if [[ "${REEL_WITH_TORCH:-1}" != 1 ]]; then
  echo "built without LibTorch (REEL_WITH_TORCH=OFF): torch_train cannot run; skipping"
  exit 0
fi
FLOW="$REEL_SOURCE_DIR/examples/ratings/workflow.yaml"
expect_exit 0 "$REEL" example-data --shape ratings --out "$WORK/data" --users 600 --items 800 --seed 3
expect_exit 0 "$REEL" validate "$FLOW"

summary() {  # RUN_ID -> checks common to both runs, prints the gate's reason
  "$REEL" show "$1" --json | $PY -c '
import json, sys
run = json.load(sys.stdin)
assert run["status"] == "succeeded", run
t = {x["step"]: x for x in run["tasks"]}
e = t["evaluate"]["outputs"]
c, b = e["candidate"], e["baseline"]
assert c["users"]["warm"] > 0 and c["users"]["cold"] > c["users"]["warm"], c["users"]
assert c["users"]["all"] == c["users"]["warm"] + c["users"]["cold"]
# cold users have no vector: the candidate falls back to popularity for them
assert c["users_without_vector"] == c["users"]["cold"], c
assert abs(c["segments"]["cold"]["recall_at_10"] - e["baselines"]["popularity"]["segments"]["cold"]["recall_at_10"]) < 1e-12
assert set(e["baselines"]) == {"popularity", "item_knn"}, e["baselines"].keys()
assert e["baseline_kind"] in ("popularity", "item_knn")
best = max(e["baselines"].values(), key=lambda m: m["recall_at_10"])
assert b == best, (b, best)
print(t["gate"]["outputs"]["passed"], t["gate"]["outputs"]["reason"])
'
}

expect_exit 0 "$REEL" run "$FLOW" -p ratings="$WORK/data/ratings.csv" --date 2024-01-01 -p epochs=5
first=$(awk 'NR == 1 {print $2}' <<<"$OUT")
reason=$(summary "$first")
expect_contains "$reason" "False"
expect_contains "$reason" "warm users evaluated; min_users is 20: blocked"

expect_exit 0 "$REEL" run "$FLOW" -p ratings="$WORK/data/ratings.csv" --date 2024-01-01 -p epochs=5 \
  -p min_users=5
second=$(awk 'NR == 1 {print $2}' <<<"$OUT")
reason=$(summary "$second")
expect_contains "$reason" "recall_at_10 warm: "
expect_contains "$reason" " vs baseline (need low > +0.0000): "
expect_not_contains "$reason" "min_users"
echo ok
