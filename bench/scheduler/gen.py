#!/usr/bin/env python3
"""Writes the benchmark DAGs as a reel workflow, a Makefile and a Snakefile.

usage: gen.py KIND OUT_DIR   KIND: chain | fanout | shell
  chain   1,000 noop steps, each needing the previous one
  fanout  10,000 noop steps: 100 layers of 99 parallel steps and one join
  shell   1,000 independent `true` processes
"""
import os
import sys

kind, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
steps = []  # (name, needs, is_shell)
if kind == "chain":
    for i in range(1000):
        steps.append((f"s{i}", [f"s{i-1}"] if i else [], False))
elif kind == "fanout":
    prev = None
    for layer in range(100):
        wide = [f"l{layer}_{j}" for j in range(99)]
        for w in wide:
            steps.append((w, [prev] if prev else [], False))
        join = f"join{layer}"
        steps.append((join, wide, False))
        prev = join
elif kind == "shell":
    for i in range(1000):
        steps.append((f"t{i}", [], True))
else:
    sys.exit("unknown kind " + kind)

with open(os.path.join(out, "workflow.yaml"), "w") as f:
    f.write(f"name: bench_{kind}\nsteps:\n")
    for name, needs, shell in steps:
        op = "operator: shell, with: {command: [true]}" if shell else "operator: noop"
        need = f", needs: [{', '.join(needs)}]" if needs else ""
        f.write(f"  {name}: {{{op}{need}}}\n")

# make: a target per step; noop steps have no recipe, shell steps run `true`.
with open(os.path.join(out, "Makefile"), "w") as f:
    f.write(".PHONY: all " + " ".join(n for n, _, _ in steps) + "\n")
    f.write("all: " + " ".join(n for n, _, _ in steps) + "\n")
    for name, needs, shell in steps:
        f.write(f"{name}: {' '.join(needs)}\n")
        if shell:
            f.write("\ttrue\n")

# snakemake: one rule per step writing a marker file.
with open(os.path.join(out, "Snakefile"), "w") as f:
    f.write("rule all:\n    input: " + ", ".join(f"'m/{n}'" for n, _, _ in steps) + "\n")
    for name, needs, shell in steps:
        f.write(f"rule {name}:\n")
        if needs:
            f.write("    input: " + ", ".join(f"'m/{n}'" for n in needs) + "\n")
        f.write(f"    output: 'm/{name}'\n")
        f.write("    shell: 'true && touch {output}'\n" if shell else "    shell: 'touch {output}'\n")
print(len(steps))
