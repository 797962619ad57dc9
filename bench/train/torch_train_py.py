#!/usr/bin/python3
"""The torch_train model and training loop in Python PyTorch, for comparison.

Same model (two towers: id embedding [+ linear over features]), same loss (in-batch softmax),
same optimizer (Adagrad), same batching (index_select on a shuffled index tensor), same
threads. Reads the job JSON that reel-train-worker reads and prints one JSON line with
examples/s per epoch.

    /usr/bin/python3 torch_train_py.py job.json
"""
import csv
import json
import sys
import time

import torch


def load(path):
    users, items, rows = {}, {}, []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        for r in reader:
            rows.append((r["user_id"], r["item_id"]))
    for u, i in rows:
        users.setdefault(u, None)
        items.setdefault(i, None)
    user_ids = {u: n for n, u in enumerate(sorted(users))}
    item_ids = {i: n for n, i in enumerate(sorted(items))}
    u = torch.tensor([user_ids[u] for u, _ in rows], dtype=torch.int64)
    i = torch.tensor([item_ids[i] for _, i in rows], dtype=torch.int64)
    return u, i, len(user_ids), len(item_ids)


class TwoTower(torch.nn.Module):
    def __init__(self, num_users, num_items, dim):
        super().__init__()
        self.user_embedding = torch.nn.Embedding(num_users, dim)
        self.item_embedding = torch.nn.Embedding(num_items, dim)
        with torch.no_grad():
            self.user_embedding.weight.normal_(0.0, 0.1)
            self.item_embedding.weight.normal_(0.0, 0.1)

    def user_vectors(self, users):
        return self.user_embedding(users)

    def item_vectors(self, items):
        return self.item_embedding(items)


def main():
    job = json.load(open(sys.argv[1]))
    torch.set_num_threads(job.get("threads", 1))
    torch.manual_seed(job.get("seed", 42))
    users, items, num_users, num_items = load(job["interactions"])
    model = TwoTower(num_users, num_items, job.get("dim", 32))
    opt = torch.optim.Adagrad(model.parameters(), lr=job.get("lr", 0.05),
                              weight_decay=job.get("weight_decay", 0.0))
    batch = job.get("batch_size", 512)
    rates, losses = [], []
    n = users.shape[0]
    for epoch in range(job.get("epochs", 5)):
        start = time.perf_counter()
        shard = torch.randperm(n)
        loss_sum = torch.zeros((), dtype=torch.float64)
        for b in range(0, n, batch):
            index = shard.narrow(0, b, min(batch, n - b))
            u = users.index_select(0, index)
            i = items.index_select(0, index)
            opt.zero_grad()
            uv = model.user_vectors(u)
            iv = model.item_vectors(i)
            logits = uv @ iv.t()
            targets = torch.arange(u.shape[0])
            loss = torch.nn.functional.cross_entropy(logits, targets, reduction="none").mean()
            loss.backward()
            opt.step()
            loss_sum += loss.detach().double() * index.shape[0]
        total = loss_sum.item()
        seconds = time.perf_counter() - start
        rates.append(n / seconds)
        losses.append(total / n)
    print(json.dumps({"examples_per_s": rates, "loss": losses}))


if __name__ == "__main__":
    main()
