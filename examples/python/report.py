"""Report step: a Markdown summary of the training and the evaluation, as an artifact."""
import os
import sys
import tempfile

import reel_step

features = reel_step.input("features")
train = reel_step.input("train")
evaluation = reel_step.input("evaluate")
k = evaluation["k"]
candidate = evaluation["candidate"][f"recall_at_{k}"]
baseline = evaluation["baseline"][f"recall_at_{k}"]

lines = [
    f"# {reel_step.workflow()} for {sys.argv[1]}",
    "",
    f"- run: {reel_step.run_id()}",
    f"- training interactions: {features['train_rows']} from {features['users']} users",
    f"- epochs: {train['epochs']}, final loss: {train['final_loss']:.4f}",
    f"- recall@{k}: candidate {candidate:.4f}, popularity baseline {baseline:.4f}",
    f"- users evaluated: {evaluation['users']}",
]
with tempfile.TemporaryDirectory() as scratch:
    path = os.path.join(scratch, "report.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    reel_step.artifact(path)  # copied into the step's artifacts
reel_step.output("lift_over_baseline", candidate - baseline)
reel_step.metric(f"candidate_recall_at_{k}", candidate)
print("\n".join(lines))
