// One rank of a data-parallel training job: loads the data, joins the process group, trains
// its shard of every epoch with gradients averaged over the ranks, and (rank 0) writes the
// checkpoints, the per-epoch metrics, the model file and the result summary.
//
// Sharding: epoch e permutes all interactions with a seed derived from (seed, e), pads the
// permutation to a multiple of world_size by wrapping around, and rank r takes positions
// i % world_size == r, so every rank runs the same number of equally sized batches.
//
// Test hook: when REEL_TRAIN_FAIL_AFTER_EPOCH=N is set, the rank named by REEL_TRAIN_FAIL_RANK
// (default 0) fails after finishing epoch N (N = 0: before the first epoch), as a crash
// would; training code paths are otherwise unchanged.
#pragma once

#include "reel/status.h"
#include "trainer/train_config.h"

namespace reel::trainer {

// Exit codes of reel-train-worker.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;      // this rank's own error (bad data, I/O, ...)
inline constexpr int kExitUsage = 2;       // bad command line or config
inline constexpr int kExitPeerFailed = 3;  // a collective failed: a peer died or timed out

struct RankOutcome {
  Status status;
  bool peer_failure = false;  // the failure came from a collective
};

// Runs rank `rank` of the job to completion. Never throws.
RankOutcome RunRank(const TrainConfig& config, int rank);

}  // namespace reel::trainer
