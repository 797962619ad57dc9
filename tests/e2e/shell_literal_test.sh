#!/usr/bin/env bash
# A shell step given a parameter full of shell metacharacters receives it literally.
source "$(dirname "$0")/lib.sh"

cat > "$WORK/literal.yaml" <<'YAML'
name: literal
params:
  text: {type: string, default: ""}
steps:
  write:
    operator: shell
    with: {command: [printf, "%s", "{{ params.text }}"], cwd: "{{ env.WORK }}"}
YAML
export WORK
nasty='$(touch pwned); `touch pwned2` "quoted" '"'"'single'"'"' * ; | & > out < in \ $HOME {{x}}'
expect_exit 0 "$REEL" run "$WORK/literal.yaml" -p "text=$nasty"
[[ ! -e "$WORK/pwned" && ! -e "$WORK/pwned2" && ! -e pwned ]] || fail "the parameter was interpreted by a shell"
run_id=$(awk 'NR == 1 {print $2}' <<<"$OUT")
expect_exit 0 "$REEL" logs "$run_id" write
[[ "$OUT" == *"$nasty"* ]] || fail "the step did not receive the parameter literally: $OUT"
echo "shell literal: ok"
