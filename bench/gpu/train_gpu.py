#!/usr/bin/env python3
"""GPU training benchmark for reel-train-worker (NCCL path). Not run on the development
machine; see README.md. Uses only the standard library, so any python3 works.

    train_gpu.py --worker build-gpu/cli/reel-train-worker [--interactions 2000000] [--epochs 3]
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "train"))
from run import make_data  # noqa: E402  (same synthetic data as bench/train)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(worker, job, world, device, workdir):
    tag = f"{device}{world}"
    job = dict(job, world_size=world, device=device, master_port=free_port(),
               checkpoint_dir=os.path.join(workdir, "ckpt-" + tag),
               metrics_path=os.path.join(workdir, f"metrics-{tag}.jsonl"),
               model_path=os.path.join(workdir, f"model-{tag}.reelmdl"),
               result_path=os.path.join(workdir, f"result-{tag}.json"))
    path = os.path.join(workdir, f"job-{tag}.json")
    json.dump(job, open(path, "w"))
    procs = [subprocess.Popen([worker, "--config", path, "--rank", str(r)]) for r in range(world)]
    if any(p.wait() != 0 for p in procs):
        sys.exit(f"{tag}: a rank failed")
    rates = [json.loads(l)["examples_per_s"] for l in open(job["metrics_path"])]
    result = json.load(open(job["result_path"]))
    return statistics.mean(rates[1:] or rates), result["backend"], result["final_loss"]


def gpu_count():
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout
        return max(1, len(out.strip().splitlines()))
    except OSError:
        return 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", required=True)
    ap.add_argument("--users", type=int, default=200000)
    ap.add_argument("--items", type=int, default=50000)
    ap.add_argument("--interactions", type=int, default=2000000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=4096)
    ap.add_argument("--dim", type=int, default=64)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="reel-bench-gpu-") as workdir:
        data = os.path.join(workdir, "interactions.csv")
        make_data(data, args.users, args.items, args.interactions)
        job = {"interactions": data, "epochs": args.epochs, "batch_size": args.batch_size,
               "dim": args.dim, "threads": 1, "lr": 0.05, "seed": 42}
        configs = [(1, "cpu"), (1, "cuda")] + ([(2, "cuda")] if gpu_count() >= 2 else [])
        print(f"{'configuration':<22} {'backend':>8} {'examples/s':>12} {'final loss':>11}")
        for world, device in configs:
            rate, backend, loss = run(args.worker, job, world, device, workdir)
            print(f"{device + ', ' + str(world) + ' rank(s)':<22} {backend:>8} {rate:>12,.0f} {loss:>11.4f}")


if __name__ == "__main__":
    main()
