#!/usr/bin/env bash
# evaluate -> metric_gate -> promote in real runs, then `reel models` and `reel runs compare`.
source "$(dirname "$0")/lib.sh"

# Two taste groups: u1,u2 like i3,i4; u3,u4 like i5,i6; i1 and i2 are popular with everyone.
# Popularity (k=1) recommends i1 or i2 and misses every held-out item; a model that knows the
# groups hits all of them.
cat >"$WORK/train.csv" <<'EOF'
user_id,item_id,weight
u1,i1,1
u1,i3,1
u2,i1,1
u2,i4,1
u3,i2,1
u3,i5,1
u4,i2,1
u4,i6,1
u5,i1,1
u5,i2,1
u6,i1,1
u6,i2,1
EOF
cat >"$WORK/holdout.csv" <<'EOF'
user_id,item_id
u1,i4
u2,i3
u3,i6
u4,i5
EOF

# write_model PATH SCALE SWAP: a model file (docs/model-lifecycle.md, "Model file format").
write_model() {
  /usr/bin/python3 - "$@" <<'EOF'
import json, struct, sys
path, scale, swap = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "1"
a, b = (0.0, scale), (scale, 0.0)
if not swap:
    a, b = b, a
users = {"u1": a, "u2": a, "u3": b, "u4": b}
items = {"i1": (0.1, 0.1), "i2": (0.1, 0.1), "i3": (1.0, 0.0), "i4": (1.0, 0.0),
         "i5": (0.0, 1.0), "i6": (0.0, 1.0)}
header = json.dumps({"format_version": 1, "dim": 2, "num_users": len(users),
                     "num_items": len(items), "users": list(users), "items": list(items),
                     "model_type": "two_tower", "metrics": {"final_loss": scale}}).encode()
with open(path, "wb") as f:
    f.write(b"REELMDL1" + struct.pack("<I", len(header)) + header)
    for vec in list(users.values()) + list(items.values()):
        f.write(struct.pack("<2f", *vec))
EOF
}
write_model "$WORK/good.reelmdl" 1 0
write_model "$WORK/good2.reelmdl" 2 0
write_model "$WORK/wrong.reelmdl" 1 1

cat >"$WORK/retrain.yaml" <<EOF
name: recs
params:
  model: {type: string}
steps:
  evaluate:
    operator: evaluate
    with:
      model: "{{ params.model }}"
      holdout: $WORK/holdout.csv
      interactions: $WORK/train.csv
      k: 1
  gate:
    operator: metric_gate
    needs: [evaluate]
    with:
      evaluation: "{{ steps.evaluate.outputs }}"
      rules:
        - {metric: recall_at_1, min_improvement_over_production: 0.0,
           min_improvement_over_baseline: 0.05, floor: 0.5}
        - {metric: recall_at_1, block_on_significant_regression: true}
  promote:
    operator: promote
    needs: [gate]
    when: "{{ steps.gate.outputs.passed }}"
    with:
      model: "{{ params.model }}"
      metrics: "{{ steps.evaluate.outputs.candidate }}"
EOF

run_with() {
  expect_exit 0 "$REEL" run "$WORK/retrain.yaml" -p model="$1" --date 2026-11-28
  awk 'NR == 1 {print $2}' <<<"$OUT"
}

expect_exit 0 "$REEL" models list
expect_contains "$OUT" "no models yet"

# Run 1: no production model yet; the good model beats popularity and becomes v1.
run1=$(run_with "$WORK/good.reelmdl")
expect_exit 0 "$REEL" show "$run1" --json
echo "$OUT" | /usr/bin/python3 -c '
import json, sys
run = json.load(sys.stdin)
t = {x["step"]: x for x in run["tasks"]}
ev = t["evaluate"]["outputs"]
assert ev["candidate"]["recall_at_1"] == 1.0 and ev["baseline"]["recall_at_1"] == 0.0, ev
assert ev["production"] is None and ev["users"] == 4, ev
assert ev["candidate"]["users"] == {"all": 4, "warm": 4, "cold": 0}, ev
assert ev["candidate"]["segments"]["warm"]["recall_at_1"] == 1.0, ev
assert ev["per_user"].startswith("sha256:"), ev
assert t["gate"]["outputs"]["passed"] is True, t["gate"]
assert "no production model yet" in t["gate"]["outputs"]["reason"]
p = t["promote"]["outputs"]
assert p["version"] == 1 and p["previous_version"] is None and p["promoted"] is True, p
kinds = [e["kind"] for e in run["events"]]
assert "gate.decision" in kinds and "model.promoted" in kinds, kinds
'

# Run 2: as good as production (+0.0%, allowed): v2.
run2=$(run_with "$WORK/good2.reelmdl")
# Run 3: worse than production: the gate blocks and promote is skipped.
run3=$(run_with "$WORK/wrong.reelmdl")
expect_exit 0 "$REEL" show "$run3" --json
echo "$OUT" | /usr/bin/python3 -c '
import json, sys
run = json.load(sys.stdin)
t = {x["step"]: x for x in run["tasks"]}
assert t["evaluate"]["outputs"]["production_version"] == 2, t["evaluate"]
assert t["gate"]["outputs"]["passed"] is False
assert "vs production 1.0000 (-100.0%, need +0.0%): blocked" in t["gate"]["outputs"]["reason"]
# Every user lost its hit: a significant regression, read from the per-user artifact.
g = t["gate"]["outputs"]
assert "recall_at_1 all: -1.0000 [-1.0000, -1.0000] vs production (blocks when high < 0): blocked" in g["reason"], g
assert g["intervals"] == [{"metric": "recall_at_1", "segment": "all", "vs": "production",
                           "delta": -1.0, "low": -1.0, "high": -1.0, "users": 4}], g
assert t["promote"]["status"] == "skipped", t["promote"]
'

expect_exit 0 "$REEL" models list --json
echo "$OUT" | /usr/bin/python3 -c '
import json, sys
models = json.load(sys.stdin)
assert [m["name"] for m in models] == ["recs"], models
m = models[0]
assert [v["version"] for v in m["versions"]] == [1, 2], m
assert m["aliases"] == {"production": 2}, m
assert m["versions"][0]["metrics"]["recall_at_1"] == 1.0, m
for k in ("version", "artifact", "run_id", "metrics", "created_at"):
    assert k in m["versions"][0], k
'
expect_exit 0 "$REEL" models list
expect_contains "$OUT" "production"
expect_contains "$OUT" "recall_at_1=1 "
[[ "$OUT" != *segments* ]] || fail "models list prints the evaluation's segments: $OUT"

expect_exit 0 "$REEL" models path recs
cmp -s "$OUT" "$WORK/good2.reelmdl" || fail "models path recs is not the v2 file: $OUT"
expect_exit 0 "$REEL" models path recs@1
cmp -s "$OUT" "$WORK/good.reelmdl" || fail "models path recs@1 is not the v1 file: $OUT"
expect_exit 0 "$REEL" models path recs@production
cmp -s "$OUT" "$WORK/good2.reelmdl" || fail "models path recs@production: $OUT"
expect_exit 1 "$REEL" models path recs@staging
expect_contains "$ERR" "has no staging version"

# Manual promotion and rollbacks, all in the audit history.
expect_exit 0 "$REEL" models promote recs 1
expect_contains "$OUT" "v2 -> v1"
expect_exit 0 "$REEL" models rollback recs
expect_contains "$OUT" "v1 -> v2"
expect_exit 0 "$REEL" models rollback recs --json
expect_contains "$OUT" "\"previous_version\": 2"
expect_contains "$OUT" "\"version\": 1"
expect_exit 1 "$REEL" models rollback recs
expect_contains "$ERR" "no earlier version to roll back to"
expect_exit 0 "$REEL" models show recs
expect_contains "$OUT" "production -> v1"
expect_contains "$OUT" "promoted production - -> v1"
expect_contains "$OUT" "by cli"
expect_contains "$OUT" "(run $run2)"
expect_exit 0 "$REEL" models show recs --json
echo "$OUT" | /usr/bin/python3 -c '
import json, sys
m = json.load(sys.stdin)
kinds = [e["kind"] for e in m["history"]]
assert kinds == ["registered", "promoted", "registered", "promoted", "promoted",
                 "rolled_back", "rolled_back"], kinds
assert m["history"][4]["actor"] == "cli" and m["history"][4]["run_id"] is None
'

# Unknown names and versions: a message and exit 2.
expect_exit 1 "$REEL" models show nope
expect_contains "$ERR" "no model named 'nope'"
expect_exit 1 "$REEL" models promote recs 9
expect_contains "$ERR" "has no version 9"

# runs compare: params, metrics and artifacts side by side.
expect_exit 0 "$REEL" runs compare "$run1" "$run3"
expect_contains "$OUT" "evaluate candidate.recall_at_1"
expect_contains "$OUT" "differences (marked *)"
grep -q '^\* param' <<<"$OUT" || fail "the differing param is not marked: $OUT"
expect_exit 0 "$REEL" runs compare "$run1" "$run2" --json
echo "$OUT" | /usr/bin/python3 -c '
import json, sys
c = json.load(sys.stdin)
p = {x["key"]: x for x in c["params"]}
assert p["model"]["differs"] is True, p
m = {(x["step"], x["key"]): x for x in c["metrics"]}
r = m[("evaluate", "candidate.recall_at_1")]
assert r["a"] == 1.0 and r["b"] == 1.0 and r["differs"] is False, r
assert m[("evaluate", "baseline.recall_at_1")]["differs"] is False
'
expect_exit 1 "$REEL" runs compare "$run1" nope
expect_contains "$ERR" "nope"

# A model file damaged on disk (truncated) is not handed out.
expect_exit 0 "$REEL" models path recs@1
v1_path="$OUT"
chmod u+w "$v1_path"
truncate -s 10 "$v1_path"
expect_exit 3 "$REEL" models path recs@1
expect_contains "$ERR" "recs v1: artifact sha256:"
expect_contains "$ERR" "is damaged"
expect_exit 0 "$REEL" models path recs@2
# Any version by number, promoted or not; a missing one exits 1.
expect_exit 1 "$REEL" models path recs@9
expect_contains "$ERR" "has no version 9"

# reel artifacts path: any stored artifact by uri or a unique prefix of it.
expect_exit 0 "$REEL" models show recs --json
v2_uri=$(echo "$OUT" | /usr/bin/python3 -c '
import json, sys
print([v for v in json.load(sys.stdin)["versions"] if v["version"] == 2][0]["artifact"])')
expect_exit 0 "$REEL" models path recs@2
v2_path="$OUT"
expect_exit 0 "$REEL" artifacts path "$v2_uri"
[[ "$OUT" == "$v2_path" ]] || fail "artifacts path $v2_uri: $OUT, expected $v2_path"
expect_exit 0 "$REEL" artifacts path "${v2_uri:0:19}"
[[ "$OUT" == "$v2_path" ]] || fail "artifacts path ${v2_uri:0:19}: $OUT"
expect_exit 1 "$REEL" artifacts path "sha256:$(printf '0%.0s' {1..64})"
expect_contains "$ERR" "no artifact sha256:000"
expect_exit 1 "$REEL" artifacts path sha256:0000
expect_exit 2 "$REEL" artifacts path md5:abc
expect_contains "$ERR" "is not an artifact uri"
echo "models_test: ok"
