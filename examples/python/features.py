"""Feature step: point-in-time interactions and a holdout from a viewing-history CSV.

Reads the raw events before the run's date, keeps watches of at least a minute, and writes
  interactions.csv  user_id,item_id,weight  (the training window)
  holdout.csv       user_id,item_id         (the last `holdout_days` days before the date)
as artifacts for the built-in training and evaluation steps after it.
"""
import argparse
import csv
import datetime as dt
import os
from collections import Counter

import reel_step

parser = argparse.ArgumentParser()
parser.add_argument("--events", required=True, help="viewing_history.csv")
parser.add_argument("--ds", required=True, help="the run's date: only events before it are used")
parser.add_argument("--train-days", type=int, default=28)
parser.add_argument("--holdout-days", type=int, default=7)
args = parser.parse_args()

ds = dt.date.fromisoformat(args.ds)
holdout_start = ds - dt.timedelta(days=args.holdout_days)
train_start = holdout_start - dt.timedelta(days=args.train_days)

weights = Counter()
holdout = set()
for row in csv.DictReader(open(args.events, newline="")):
    day = dt.date.fromisoformat(row["event_time"][:10])
    if day >= ds or day < train_start or int(row["watch_seconds"]) < 60:
        continue  # nothing from the run's date or later: no leakage
    key = (row["user_id"], row["item_id"])
    if day >= holdout_start:
        holdout.add(key)
    else:
        weights[key] += int(row["watch_seconds"]) / 3600.0

folder = reel_step.artifact_dir()  # what is left here becomes an artifact
with open(os.path.join(folder, "interactions.csv"), "w", newline="") as f:
    out = csv.writer(f)
    out.writerow(["user_id", "item_id", "weight"])
    for (user, item), weight in sorted(weights.items()):
        out.writerow([user, item, f"{weight:.4f}"])
with open(os.path.join(folder, "holdout.csv"), "w", newline="") as f:
    out = csv.writer(f)
    out.writerow(["user_id", "item_id"])
    out.writerows(sorted(holdout))

reel_step.output("train_rows", len(weights))
reel_step.output("holdout_rows", len(holdout))
reel_step.output("users", len({user for user, _ in weights}))
reel_step.metric("train_rows", len(weights))
print(f"{len(weights)} training interactions, {len(holdout)} held out, window "
      f"{train_start} .. {ds - dt.timedelta(days=1)}")
