#!/usr/bin/env bash
# Builds reel-train-worker against a CUDA LibTorch and runs the GPU training benchmark.
# Usage: bench/gpu/run.sh LIBTORCH_DIR [extra args for train_gpu.py]
# Not run on the development machine (no GPU); see bench/gpu/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
libtorch="${1:?usage: bench/gpu/run.sh LIBTORCH_DIR}"
shift
command -v nvidia-smi >/dev/null && nvidia-smi -L
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DREEL_BUILD_TESTS=OFF \
  -DCMAKE_PREFIX_PATH="$libtorch" >/dev/null
cmake --build build-gpu --target reel-train-worker
grep -q USE_C10D_NCCL build-gpu/build.ninja || echo "warning: NCCL not enabled in this build" >&2
python3 bench/gpu/train_gpu.py --worker build-gpu/cli/reel-train-worker "$@"
