// The job description that the torch_train operator hands to every rank of
// reel-train-worker, as a JSON file (`reel-train-worker --config FILE --rank R`).
//
// The JSON is the contract between the operator (operators/torch_train.cc) and the worker;
// every key is listed in TrainConfig below with the same name. The operator has already
// validated the user's settings; ParseTrainConfig checks them again so that a hand-written
// file (benchmarks) fails with a clear message rather than a crash.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "reel/status.h"

namespace reel::trainer {

enum class LossKind { kSoftmax, kBpr };

struct TrainConfig {
  // Inputs: local CSV paths. Feature files are optional (empty = none).
  std::string interactions;
  std::string user_features;
  std::string item_features;

  // What is trained: "two_tower" (the default: embeddings learnt by gradient descent), or a
  // classical model computed in closed form from the interactions, exported as the same kind
  // of model file (a user's vector is the items they interacted with; an item's vector is
  // its column of item-item weights, so a dot product scores it):
  //   "item_knn": cosine similarity of items' user sets, shrunk by `shrinkage`
  //               (co / (|i|^0.5 |j|^0.5 + shrinkage)), the top `neighbors` per item kept;
  //   "ease":     EASE (Steck, WWW 2019), B = I - P / diag(P) with P = (X'X + lambda I)^-1.
  std::string model = "two_tower";
  int neighbors = 100;
  double shrinkage = 10.0;
  double ease_lambda = 500.0;

  // Training.
  int epochs = 5;
  int batch_size = 512;
  double lr = 0.05;
  int dim = 32;
  int threads = 1;  // intra-op threads per rank
  std::uint64_t seed = 42;
  int world_size = 1;
  LossKind loss = LossKind::kSoftmax;
  int negatives = 4;  // sampled negatives per positive, bpr only
  double weight_decay = 0.0;
  // Softmax only. In-batch negatives are sampled in proportion to how often an item occurs, so
  // popular items are over-penalized; subtracting log(q) of each item's sampling probability
  // from its logit corrects that bias (Yi et al., RecSys 2019). q is counted over the
  // training interactions, which is what the paper's streaming estimate approximates.
  bool logq_correction = true;
  int uniform_negatives = 0;  // items drawn uniformly per batch, added to the in-batch ones
  // Features: each value becomes sign(x) * log1p(|x|), is standardized over its file, then
  // clipped to [-feature_clip, feature_clip], so that one rare large value cannot dominate.
  double feature_clip = 5.0;

  // Distribution: rank 0 serves the TCPStore on master_addr:master_port.
  std::string master_addr = "127.0.0.1";
  int master_port = 0;
  std::string device = "cpu";  // "cpu" (Gloo) or "cuda" (NCCL)
  int collective_timeout_s = 60;

  // Outputs, all written by rank 0 only.
  std::string checkpoint_dir;  // where checkpoint.pt lives; required
  bool resume = false;         // load checkpoint_dir/checkpoint.pt when it exists and matches
  std::string metrics_path;    // JSON lines, one per epoch
  std::string model_path;      // the model file (models/model_file.h)
  std::string result_path;     // a JSON summary written at the end
  nlohmann::json model_header = nlohmann::json::object();  // merged into the model file header

  // What a checkpoint must match to be resumed: every setting that changes the trajectory
  // of training, but not `epochs` (so a longer run can continue a shorter one).
  std::string Fingerprint() const;
  // The settings as JSON, for the model file header.
  nlohmann::json TrainingJson() const;
};

Result<TrainConfig> ParseTrainConfig(const nlohmann::json& json);
Result<TrainConfig> LoadTrainConfig(const std::string& path);

}  // namespace reel::trainer
