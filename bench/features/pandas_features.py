#!/usr/bin/python3
"""The pandas side of bench/features/run.sh: the same snapshot and feature ETL as reel's
fact_snapshot and feature_etl steps, written the way a pandas user would.

  pandas_features.py snapshot CSV STORE_DIR
      one partition per UTC day of event time, rows sorted by (event_time, event_id), each
      partition a pickle file STORE_DIR/<day>.pkl
  pandas_features.py features STORE_DIR DS OUT_DIR
      interactions [C-28d, C) and holdout [C, T) with watch_seconds >= 60, C = T - 7d, and
      the user/item features of bench/features/features.yaml, as CSV files in OUT_DIR
"""
import os
import sys

import pandas as pd

DAY_MS = 86_400_000
TRAIN_DAYS, HOLDOUT_DAYS = 28, 7


def snapshot(csv, store):
    df = pd.read_csv(csv, usecols=["event_id", "user_id", "item_id", "event_time",
                                   "watch_seconds", "device"],
                     dtype={"event_id": "int64", "user_id": "int64", "item_id": "int64",
                            "watch_seconds": "int64", "device": "object"})
    t = pd.to_datetime(df["event_time"], utc=True, format="%Y-%m-%dT%H:%M:%SZ")
    df["event_time"] = t.astype("int64") // 1_000_000  # epoch ms
    df = df.sort_values(["event_time", "event_id"], kind="stable")
    os.makedirs(store, exist_ok=True)
    for day, part in df.groupby(df["event_time"] // DAY_MS):
        part.reset_index(drop=True).to_pickle(os.path.join(store, f"{day}.pkl"))
    print(f"rows={len(df)}")


def load(store, first_day, end_day):
    parts = [pd.read_pickle(os.path.join(store, f"{d}.pkl")) for d in range(first_day, end_day)
             if os.path.exists(os.path.join(store, f"{d}.pkl"))]
    return pd.concat(parts, ignore_index=True)


def interactions(df, lo, hi, path):
    rows = df[(df.event_time >= lo) & (df.event_time < hi)]
    out = pd.DataFrame({"user_id": rows.user_id, "item_id": rows.item_id,
                        "weight": rows.watch_seconds, "ts": rows.event_time // 1000})
    out.to_csv(path, index=False)
    return rows


def features(store, ds, out_dir):
    t_day = (pd.Timestamp(ds, tz="UTC").value // 1_000_000) // DAY_MS
    c_day = t_day - HOLDOUT_DAYS
    first = c_day - TRAIN_DAYS
    df = load(store, first, t_day)
    c_ms = c_day * DAY_MS
    os.makedirs(out_dir, exist_ok=True)
    watched = df[df.watch_seconds >= 60]
    train = interactions(watched, first * DAY_MS, c_ms, os.path.join(out_dir, "interactions.csv"))
    interactions(watched, c_ms, t_day * DAY_MS, os.path.join(out_dir, "holdout.csv"))

    def window(days):
        return df[(df.event_time >= c_ms - days * DAY_MS) & (df.event_time < c_ms)]

    w28, w7 = window(28), window(7)
    users = pd.Index(sorted(train.user_id.unique()), name="user_id")
    g = w28.groupby("user_id")
    uf = pd.DataFrame({"watches_28d": g.size(), "avg_watch_28d": g.watch_seconds.mean(),
                       "max_watch_28d": g.watch_seconds.max(),
                       "distinct_items_28d": g.item_id.nunique()}).reindex(users).fillna(0)
    uf.to_csv(os.path.join(out_dir, "user_features.csv"))
    items = pd.Index(sorted(train.item_id.unique()), name="item_id")
    g28, g7 = w28.groupby("item_id"), w7.groupby("item_id")
    itf = pd.DataFrame({"views_7d": g7.size(), "views_28d": g28.size(),
                        "avg_watch_28d": g28.watch_seconds.mean()}).reindex(items).fillna(0)
    itf.to_csv(os.path.join(out_dir, "item_features.csv"))
    print(f"train_rows={len(train)} users={len(users)} items={len(items)}")


if __name__ == "__main__":
    if sys.argv[1] == "snapshot":
        snapshot(sys.argv[2], sys.argv[3])
    else:
        features(sys.argv[2], sys.argv[3], sys.argv[4])
