#!/usr/bin/env bash
# The command line's shared conventions: --json on every reporting command (and nothing else on
# stdout), global flags after the subcommand, logs of every attempt, DAG-ordered summaries,
# exit 1 for state conditions, run tags and notes, runs compare of several runs, reel params,
# the default logical date of a scheduled workflow, artifact paths.
source "$(dirname "$0")/lib.sh"
py=/usr/bin/python3

# A DAG whose file order is not its order: a_first runs before z_last; z_last fails with a
# multi-line error after a retry.
cat >"$WORK/dag.yaml" <<'YAML'
name: dag
params:
  lr: {type: float, default: 0.1, description: "learning rate"}
  tag: {type: string, required: true, description: "what this run is for"}
steps:
  z_last:
    operator: shell
    needs: [m_middle]
    retries: 1
    retry_delay: 10ms
    with: {command: [sh, -c, 'echo "first line"; echo "second line" >&2; exit 3']}
  m_middle: {operator: noop, needs: [a_first]}
  a_first: {operator: noop}
YAML

# --- Global flags work after the subcommand as well as before it.
expect_exit 0 "$REEL" runs --home "$WORK/other"
expect_contains "$OUT" "no runs yet"
[[ -f "$WORK/other/reel.db" ]] || fail "--home after the subcommand was not used"
expect_exit 2 "$REEL" validate "$WORK/dag.yaml" --plugin "$WORK/nope.so"
expect_contains "$ERR" "plugin '$WORK/nope.so' does not exist"
expect_exit 2 "$REEL" --plugin "$WORK/nope.so" validate "$WORK/dag.yaml"
expect_contains "$ERR" "plugin '$WORK/nope.so' does not exist"

# --- reel params, and run --help points at it.
expect_exit 0 "$REEL" params "$WORK/dag.yaml"
expect_contains "$OUT" "learning rate"
echo "$OUT" | grep -Eq '^tag +string +- +yes +what this run is for$' || fail "params table: $OUT"
expect_exit 0 "$REEL" params "$WORK/dag.yaml" --json
echo "$OUT" | $py -c '
import json, sys
p = {x["name"]: x for x in json.load(sys.stdin)["params"]}
assert p["lr"] == {"name": "lr", "type": "float", "default": 0.1, "has_default": True,
                   "required": False, "description": "learning rate"}, p
assert p["tag"]["required"] is True and p["tag"]["default"] is None, p
'
expect_exit 0 "$REEL" run --help
expect_contains "$OUT" "reel params FILE"

# --- Tags: bad ones are refused before anything is written.
expect_exit 2 "$REEL" run "$WORK/dag.yaml" -p tag=x --tag "1bad=x"
expect_contains "$ERR" "--tag '1bad=x': the key must be an identifier"
expect_exit 2 "$REEL" run "$WORK/dag.yaml" -p tag=x --tag novalue
expect_contains "$ERR" "--tag expects KEY=VALUE"
expect_exit 2 "$REEL" run "$WORK/dag.yaml" -p tag=x --tag team=a --tag team=b
expect_contains "$ERR" "--tag team is given twice"
expect_exit 2 "$REEL" run "$WORK/dag.yaml" -p tag=x --tag "team=$(printf 'a%.0s' {1..300})"
expect_contains "$ERR" "at most 256 allowed"
[[ ! -e "$REEL_HOME" ]] || fail "a refused tag wrote into the home"

# --- run --json: one JSON object on stdout, tasks in DAG order; exit 1 for the failed run.
expect_exit 1 "$REEL" run "$WORK/dag.yaml" -p tag=x --date 2026-11-28 --json \
  --tag team=recs --tag exp=lr_sweep --note "first try"
echo "$OUT" | $py -c '
import json, sys
r = json.load(sys.stdin)
assert r["status"] == "failed" and r["logical_date"] == "2026-11-28", r
assert [t["step"] for t in r["tasks"]] == ["a_first", "m_middle", "z_last"], r["tasks"]
assert r["tags"] == {"exp": "lr_sweep", "team": "recs"} and r["note"] == "first try", r
z = r["tasks"][2]
assert z["attempts"] == 2 and isinstance(z["duration_ms"], int), z
' || fail "run --json: $OUT"
expect_contains "$ERR" "run "   # progress stays on stderr
fail_id=$(echo "$OUT" | $py -c 'import json,sys; print(json.load(sys.stdin)["run_id"])')

# The summary table lists tasks in DAG order; a multi-line error shows its first line only.
expect_exit 1 "$REEL" run "$WORK/dag.yaml" -p tag=y --date 2026-11-29
echo "$OUT" | sed -n '2,4p' | awk '{print $1}' | tr '\n' ' ' | grep -qx 'a_first m_middle z_last ' ||
  fail "summary not in DAG order: $OUT"
expect_not_contains "$OUT" "second line"
second_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")

# The failure's tail quotes the command's output, not reel's own `running:` line.
expect_exit 0 "$REEL" show "$fail_id" --json
echo "$OUT" | $py -c '
import json, sys
r = json.load(sys.stdin)
assert [t["step"] for t in r["tasks"]] == ["a_first", "m_middle", "z_last"], r["tasks"]
assert r["tags"] == {"exp": "lr_sweep", "team": "recs"} and r["note"] == "first try", r
assert isinstance(r["started_at_ms"], int) and isinstance(r["duration_ms"], int), r
assert r["started_at"].endswith("Z"), r
z = r["tasks"][2]
assert "running:" not in z["error"], z["error"]
assert z["error"].endswith("first line\nsecond line"), z["error"]
for t in r["tasks"]:
    assert isinstance(t["duration_ms"], int) and isinstance(t["ended_at_ms"], int), t
    for a in t["attempts"]:
        assert isinstance(a["started_at_ms"], int) and isinstance(a["duration_ms"], int), a
'
expect_exit 0 "$REEL" show "$fail_id"
expect_contains "$OUT" "tags      exp=lr_sweep team=recs"
expect_contains "$OUT" "note      first try"
expect_not_contains "$OUT" "second line"
echo "$OUT" | grep -A3 '^tasks:' | sed -n '2,4p' | awk '{print $1}' | tr '\n' ' ' |
  grep -qx 'a_first m_middle z_last ' || fail "show not in DAG order: $OUT"

# --- Logs: every attempt under a header; --attempt N alone and bare; --json.
expect_exit 0 "$REEL" logs "$fail_id" z_last
expect_contains "$OUT" "== step z_last, attempt 1 (failed) =="
expect_contains "$OUT" "== step z_last, attempt 2 (failed) =="
[[ $(echo "$OUT" | grep -c "first line") -ge 2 ]] || fail "logs did not show both attempts"
expect_exit 0 "$REEL" logs "$fail_id" z_last --attempt 1
expect_not_contains "$OUT" "=="
expect_contains "$OUT" "running: sh -c"
expect_exit 1 "$REEL" logs "$fail_id" z_last --attempt 7
expect_contains "$ERR" "has no attempt 7"
expect_exit 1 "$REEL" logs "$fail_id" nosuchstep
expect_exit 0 "$REEL" logs "$fail_id" --json
echo "$OUT" | $py -c '
import json, sys
a = json.load(sys.stdin)["attempts"]
z = [x for x in a if x["step"] == "z_last"]
assert [x["attempt"] for x in z] == [1, 2], z
assert all("first line" in x["text"] and x["status"] == "failed" for x in z), z
'

# --- runs --tag: every tag given must match; runs --json carries tags and note.
expect_exit 0 "$REEL" runs --tag team=recs --json
echo "$OUT" | $py -c '
import json, sys
runs = json.load(sys.stdin)
assert [r["run_id"] for r in runs] == ["'"$fail_id"'"], runs
assert runs[0]["tags"]["team"] == "recs" and runs[0]["note"] == "first try", runs
'
expect_exit 0 "$REEL" runs --tag team=recs --tag exp=other
expect_contains "$OUT" "no runs match"
expect_exit 2 "$REEL" runs --tag "bad key=1"

# --- Resume keeps the origin's tags (and adds new ones); exit 1 for state conditions.
expect_exit 1 "$REEL" resume "$fail_id" --tag attempt=two --json
echo "$OUT" | $py -c '
import json, sys
r = json.load(sys.stdin)
assert r["trigger"] == "resume" and r["origin_run_id"] == "'"$fail_id"'", r
assert r["tags"] == {"attempt": "two", "exp": "lr_sweep", "team": "recs"}, r
assert r["note"] == "first try", r
'
expect_exit 1 "$REEL" cancel "$fail_id"
expect_contains "$ERR" "has already finished (failed); nothing to cancel"
expect_exit 1 "$REEL" show nosuchrun
expect_contains "$ERR" "no run 'nosuchrun'"
expect_exit 1 "$REEL" logs nosuchrun

# A run that is still running: resume exits 1 and says so; cancel stops it.
cat >"$WORK/slow.yaml" <<'YAML'
name: slow
steps:
  wait: {operator: shell, with: {command: [sleep, "30"]}}
YAML
"$REEL" run "$WORK/slow.yaml" >"$WORK/slow.out" 2>&1 &
slow_pid=$!
for _ in $(seq 100); do
  slow_id=$("$REEL" runs --status running --json | $py -c 'import json,sys; r=json.load(sys.stdin); print(r[0]["run_id"] if r else "")')
  [[ -n "$slow_id" ]] && break
  sleep 0.1
done
[[ -n "$slow_id" ]] || fail "the slow run did not start"
expect_exit 1 "$REEL" resume "$slow_id"
expect_contains "$ERR" "is still running"
expect_exit 0 "$REEL" cancel "$slow_id" --json
expect_contains "$OUT" "\"cancel_requested\": true"
wait "$slow_pid" || true
expect_exit 0 "$REEL" show "$slow_id" --json
expect_contains "$OUT" "\"status\": \"cancelled\""

# --- runs compare of three runs, side by side.
expect_exit 1 "$REEL" run "$WORK/dag.yaml" -p tag=z -p lr=0.5 --date 2026-11-30
third_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_exit 0 "$REEL" runs compare "$fail_id" "$second_id" "$third_id"
awk 'NR == 1' <<<"$OUT" | grep -q "$fail_id.*$second_id.*$third_id" || fail "compare header: $OUT"
echo "$OUT" | grep -Eq '^\* param +lr +0.1 +0.1 +0.5$' || fail "compare lr row: $OUT"
expect_contains "$OUT" "duration"
expect_exit 0 "$REEL" runs compare "$fail_id" "$second_id" "$third_id" --json
echo "$OUT" | $py -c '
import json, sys
c = json.load(sys.stdin)
assert len(c["runs"]) == 3 and all("duration_ms" in r for r in c["runs"]), c["runs"]
p = {x["key"]: x for x in c["params"]}
assert p["lr"]["values"] == [0.1, 0.1, 0.5] and p["lr"]["differs"] is True, p
assert p["tag"]["values"] == ["x", "y", "z"], p
'
expect_exit 2 "$REEL" runs compare "$fail_id"
expect_exit 1 "$REEL" runs compare "$fail_id" nope

# --- Backfill: --json has one entry per date; its runs get the tags.
cat >"$WORK/daily.yaml" <<'YAML'
name: daily
steps:
  a: {operator: noop}
YAML
expect_exit 0 "$REEL" backfill "$WORK/daily.yaml" --from 2026-01-01 --to 2026-01-02 --tag src=bf --json
echo "$OUT" | $py -c '
import json, sys
b = json.load(sys.stdin)
assert [d["logical_date"] for d in b["dates"]] == ["2026-01-01", "2026-01-02"], b
assert all(d["action"] == "run" and d["status"] == "succeeded" and d["run_id"] for d in b["dates"]), b
'
expect_exit 0 "$REEL" backfill "$WORK/daily.yaml" --from 2026-01-01 --to 2026-01-03 --json
echo "$OUT" | $py -c '
import json, sys
d = {x["logical_date"]: x for x in json.load(sys.stdin)["dates"]}
assert d["2026-01-01"]["action"] == "skip (succeeded)" or d["2026-01-01"]["action"].startswith("skip"), d
assert d["2026-01-01"]["status"] == "succeeded" and d["2026-01-01"]["run_id"], d
assert d["2026-01-03"]["action"] == "run" and d["2026-01-03"]["status"] == "succeeded", d
'
expect_exit 0 "$REEL" runs --tag src=bf --json
[[ $(echo "$OUT" | $py -c 'import json,sys; print(len(json.load(sys.stdin)))') == 2 ]] ||
  fail "backfill runs were not tagged: $OUT"

# --- validate --json, schedule next --json.
cat >"$WORK/bad.yaml" <<'YAML'
name: bad
steps:
  a: {operator: noop, needz: []}
  b: {operator: no_such_operator}
YAML
expect_exit 2 "$REEL" validate "$WORK/bad.yaml" "$WORK/daily.yaml" --json
[[ -z "$ERR" ]] || fail "validate --json wrote to stderr: $ERR"
echo "$OUT" | $py -c '
import json, sys
v = json.load(sys.stdin)
assert v["ok"] is False and v["valid"] is False, v
bad, good = v["files"]
assert bad["valid"] is False and good["valid"] is True and good["workflow"] == "daily", v
d = {x["message"].split(" ")[0]: x for x in bad["diagnostics"]}
ops = [x for x in bad["diagnostics"] if "unknown operator" in x["message"]][0]
assert ops["line"] == 4 and ops["col"] > 0 and ops["severity"] == "error", ops
assert "--plugin" in ops["hint"] and "plugins:" in ops["hint"], ops
assert all(set(x) == {"file", "line", "col", "severity", "message", "hint"} for x in bad["diagnostics"])
'
expect_exit 0 "$REEL" schedule next "0 9 * * *" --from 2026-11-27T12:00:00Z -n 2 --json
echo "$OUT" | $py -c '
import json, sys
assert json.load(sys.stdin) == ["2026-11-28T09:00:00Z", "2026-11-29T09:00:00Z"]'

# --- serve --once --json: the decisions, log lines on stderr.
mkdir -p "$WORK/wf"
cat >"$WORK/wf/nightly.yaml" <<'YAML'
name: nightly
schedule: {cron: "0 3 * * *", timezone: UTC}
steps:
  a: {operator: noop}
YAML
expect_exit 0 "$REEL" serve --workflows "$WORK/wf" --once --now 2026-11-29T03:00:00Z --json
expect_contains "$ERR" "polling"
echo "$OUT" | $py -c '
import json, sys
s = json.load(sys.stdin)
fired = [d for d in s["decisions"] if d["decision"] == "fired"]
assert len(fired) == 1 and fired[0]["ds"] == "2026-11-28" and fired[0]["status"] == "succeeded", s
assert s["ok"] is True and s["at"] == "2026-11-29T03:00:00Z", s
'

# --- The default logical date: a scheduled workflow's manual run takes the latest interval that
# has ended (what reel serve fires); one without a schedule keeps today (UTC).
cat >"$WORK/yearly.yaml" <<'YAML'
name: yearly
schedule: {cron: "0 0 1 1 *", timezone: UTC}
steps:
  a: {operator: noop}
YAML
expect_exit 0 "$REEL" run "$WORK/yearly.yaml" --json
year=$(date -u +%Y)
expect_contains "$OUT" "\"logical_date\": \"$((year - 1))-01-01\""
expect_contains "$ERR" "logical date $((year - 1))-01-01: the latest interval of the schedule"
expect_exit 0 "$REEL" run "$WORK/daily.yaml" --json
expect_contains "$OUT" "\"logical_date\": \"$(date -u +%Y-%m-%d)\""

echo "cli_test: ok"
