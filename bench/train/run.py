#!/usr/bin/python3
"""Training throughput: reel's torch_train ranks (reel-train-worker) vs the same model and
loop in Python PyTorch, at equal threads, and 1 vs 2 ranks. Prints a table.

    bench/train/run.py [--build build] [--users 20000] [--items 4000] [--interactions 400000]
                       [--epochs 3] [--batch-size 512] [--dim 32] [--threads 1]

Needs /usr/bin/python3 with python3-torch (scripts/bootstrap --bench). Examples/s is the mean
over epochs after the first (warm-up); every configuration runs the same data and settings.
This is a benchmark, not a test: numbers vary with the machine and its load.
"""
import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def make_data(path, users, items, interactions, seed=5):
    rng = random.Random(seed)
    groups = 20
    with open(path, "w") as f:
        f.write("user_id,item_id,ts\n")
        for n in range(interactions):
            u = rng.randrange(users)
            g = u % groups
            if rng.random() < 0.8:
                i = g + groups * rng.randrange(items // groups)
            else:
                i = rng.randrange(items)
            f.write(f"u{u},i{i},{1700000000 + n}\n")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_reel(worker, job, world_size, workdir):
    job = dict(job, world_size=world_size, master_port=free_port(),
               checkpoint_dir=os.path.join(workdir, f"ckpt{world_size}"),
               metrics_path=os.path.join(workdir, f"metrics{world_size}.jsonl"),
               model_path=os.path.join(workdir, f"model{world_size}.reelmdl"),
               result_path=os.path.join(workdir, f"result{world_size}.json"))
    config = os.path.join(workdir, f"job{world_size}.json")
    json.dump(job, open(config, "w"))
    procs = [subprocess.Popen([worker, "--config", config, "--rank", str(r)],
                              stderr=subprocess.PIPE, text=True) for r in range(world_size)]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            sys.exit(f"reel-train-worker failed:\n{err}")
    rates, losses = [], []
    for line in open(job["metrics_path"]):
        m = json.loads(line)
        rates.append(m["examples_per_s"])
        losses.append(m["loss"])
    return rates, losses


def run_python(job, workdir):
    config = os.path.join(workdir, "job_py.json")
    json.dump(job, open(config, "w"))
    # torch.set_num_threads does not reach OpenBLAS's own pool; the reel ranks set it too.
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(job["threads"]))
    out = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "torch_train_py.py"), config],
                         check=True, capture_output=True, text=True, env=env).stdout
    result = json.loads(out.strip().splitlines()[-1])
    return result["examples_per_s"], result["loss"]


def steady(rates):
    return statistics.mean(rates[1:] if len(rates) > 1 else rates)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--users", type=int, default=20000)
    ap.add_argument("--items", type=int, default=4000)
    ap.add_argument("--interactions", type=int, default=400000)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    worker = os.path.join(args.build, "cli", "reel-train-worker")
    if not os.access(worker, os.X_OK):
        sys.exit(f"no {worker}: build reel with LibTorch first (scripts/build)")
    with tempfile.TemporaryDirectory(prefix="reel-bench-train-") as workdir:
        data = os.path.join(workdir, "interactions.csv")
        make_data(data, args.users, args.items, args.interactions)
        job = {"interactions": data, "epochs": args.epochs, "batch_size": args.batch_size,
               "dim": args.dim, "threads": args.threads, "lr": 0.05, "seed": 42, "loss": "softmax"}
        rows = []
        py_rates, py_loss = run_python(job, workdir)
        rows.append(("python pytorch, 1 process", steady(py_rates), py_loss[-1]))
        for world in (1, 2):
            rates, losses = run_reel(worker, job, world, workdir)
            rows.append((f"reel torch_train, {world} rank{'s' if world > 1 else ''}", steady(rates), losses[-1]))
    base = rows[0][1]
    print(f"# {args.interactions} interactions, {args.users} users, {args.items} items, dim {args.dim}, "
          f"batch {args.batch_size}/rank, {args.threads} thread(s)/rank, {args.epochs} epochs, {os.cpu_count()} CPUs")
    print(f"{'configuration':<30} {'examples/s':>12} {'vs python':>10} {'final loss':>11}")
    for name, rate, loss in rows:
        print(f"{name:<30} {rate:>12,.0f} {rate / base:>9.2f}x {loss:>11.4f}")


if __name__ == "__main__":
    main()
