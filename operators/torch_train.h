// torch_train: trains a two-tower recommender with LibTorch, data-parallel over `world_size`
// rank processes (c10d: Gloo on CPU, NCCL on CUDA), and stores the model file
// (models/model_file.h) as the artifact "model".
//
// The training itself runs in reel-train-worker (trainer/), a separate executable, so that reel
// links no LibTorch. It is looked up in $REEL_TRAIN_WORKER, else beside the running reel
// binary; a reel built without LibTorch has none and the operator fails saying so.
//
// Files under ctx.work_dir()/torch_train: checkpoints/checkpoint.pt (replaced after every
// epoch; a retried attempt resumes from it when its settings match, which gives the same model
// as an uninterrupted run) and attempt-N/ (the job's config.json, metrics.jsonl, result.json
// and the model file before it is stored).
//
// Outputs: model (artifact uri), final_loss (null with epochs 0), epochs, examples_per_s.
// Metrics: train.loss and train.examples_per_s per epoch (step = epoch, from 1).
#pragma once

#include <filesystem>
#include <optional>

#include "reel/operator.h"

namespace reel {

class TorchTrainOperator : public Operator {
 public:
  static OperatorInfo Info();
  Status Execute(Context& ctx) override;
};

// The reel-train-worker to use: $REEL_TRAIN_WORKER when set, else the file of that name in
// the directory of /proc/self/exe. NotFound, with a message saying how to get one, when it
// does not exist or is not executable.
Result<std::filesystem::path> FindTrainWorker();

}  // namespace reel
