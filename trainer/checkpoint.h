// Per-epoch checkpoints of a training job: model, optimizer state, epochs done, the last
// loss and the RNG state, in one file replaced atomically (write, fsync, rename) so a crash
// leaves the previous checkpoint or the new one, never a torn file.
//
// RNG state: every random stream of a job after initialization is derived from
// (seed, purpose, epoch, rank) (trainer/prng.h), so the epoch count restores them exactly;
// torch's global CPU generator is saved as well for anything that draws from it.
#pragma once

#include <optional>
#include <string>

#include <torch/torch.h>

#include "reel/status.h"
#include "trainer/model.h"

namespace reel::trainer {

struct CheckpointInfo {
  int epochs_done = 0;
  double last_loss = 0.0;
  std::string fingerprint;  // TrainConfig::Fingerprint() of the job that wrote it
  bool restored = false;    // whether LoadCheckpoint restored the model and optimizer from it
  std::string damaged;      // why the file could not be read; the model was left untouched
};

Status SaveCheckpoint(const std::string& path, TwoTower& model, torch::optim::Optimizer& optimizer,
                      const CheckpointInfo& info);

// Restores `model` and `optimizer` from `path` when it exists, its fingerprint equals
// `fingerprint` and it holds at most `max_epochs` epochs. Returns nullopt when there is no
// file; `damaged` set (and the model untouched) when the file cannot be read; an error when
// what was read cannot be restored; otherwise what the file holds, with `restored` telling
// whether it was used.
Result<std::optional<CheckpointInfo>> LoadCheckpoint(const std::string& path,
                                                     const std::string& fingerprint, int max_epochs,
                                                     TwoTower& model,
                                                     torch::optim::Optimizer& optimizer,
                                                     const torch::Device& device);

}  // namespace reel::trainer
