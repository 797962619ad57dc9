#include "trainer/train_config.h"

#include <fmt/format.h>

#include "engine/base/fsutil.h"

namespace reel::trainer {
namespace {

template <typename T>
Status Read(const nlohmann::json& json, const char* key, T& out) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return Status::Ok();
  try {
    out = it->get<T>();
  } catch (const nlohmann::json::exception&) {
    return Status::InvalidArgument(
        fmt::format("train config: \"{}\" has the wrong type ({})", key, it->dump()));
  }
  return Status::Ok();
}

Status Check(bool ok, const std::string& message) {
  return ok ? Status::Ok() : Status::InvalidArgument("train config: " + message);
}

}  // namespace

std::string TrainConfig::Fingerprint() const {
  nlohmann::json f = TrainingJson();
  f.erase("epochs");
  f["inputs"] = {interactions, user_features, item_features};
  return f.dump();
}

nlohmann::json TrainConfig::TrainingJson() const {
  return {{"epochs", epochs},
          {"batch_size", batch_size},
          {"lr", lr},
          {"dim", dim},
          {"threads", threads},
          {"seed", seed},
          {"world_size", world_size},
          {"loss", loss == LossKind::kSoftmax ? "softmax" : "bpr"},
          {"negatives", negatives},
          {"weight_decay", weight_decay},
          {"logq_correction", logq_correction},
          {"uniform_negatives", uniform_negatives},
          {"feature_clip", feature_clip},
          {"model", model},
          {"neighbors", neighbors},
          {"shrinkage", shrinkage},
          {"ease_lambda", ease_lambda},
          {"device", device}};
}

Result<TrainConfig> ParseTrainConfig(const nlohmann::json& json) {
  if (!json.is_object()) return Status::InvalidArgument("train config: not a JSON object");
  TrainConfig c;
  std::string loss = "softmax";
  REEL_RETURN_IF_ERROR(Read(json, "interactions", c.interactions));
  REEL_RETURN_IF_ERROR(Read(json, "user_features", c.user_features));
  REEL_RETURN_IF_ERROR(Read(json, "item_features", c.item_features));
  REEL_RETURN_IF_ERROR(Read(json, "epochs", c.epochs));
  REEL_RETURN_IF_ERROR(Read(json, "batch_size", c.batch_size));
  REEL_RETURN_IF_ERROR(Read(json, "lr", c.lr));
  REEL_RETURN_IF_ERROR(Read(json, "dim", c.dim));
  REEL_RETURN_IF_ERROR(Read(json, "threads", c.threads));
  REEL_RETURN_IF_ERROR(Read(json, "seed", c.seed));
  REEL_RETURN_IF_ERROR(Read(json, "world_size", c.world_size));
  REEL_RETURN_IF_ERROR(Read(json, "loss", loss));
  REEL_RETURN_IF_ERROR(Read(json, "negatives", c.negatives));
  REEL_RETURN_IF_ERROR(Read(json, "weight_decay", c.weight_decay));
  REEL_RETURN_IF_ERROR(Read(json, "logq_correction", c.logq_correction));
  REEL_RETURN_IF_ERROR(Read(json, "uniform_negatives", c.uniform_negatives));
  REEL_RETURN_IF_ERROR(Read(json, "feature_clip", c.feature_clip));
  REEL_RETURN_IF_ERROR(Read(json, "model", c.model));
  REEL_RETURN_IF_ERROR(Read(json, "neighbors", c.neighbors));
  REEL_RETURN_IF_ERROR(Read(json, "shrinkage", c.shrinkage));
  REEL_RETURN_IF_ERROR(Read(json, "ease_lambda", c.ease_lambda));
  REEL_RETURN_IF_ERROR(Read(json, "master_addr", c.master_addr));
  REEL_RETURN_IF_ERROR(Read(json, "master_port", c.master_port));
  REEL_RETURN_IF_ERROR(Read(json, "device", c.device));
  REEL_RETURN_IF_ERROR(Read(json, "collective_timeout_s", c.collective_timeout_s));
  REEL_RETURN_IF_ERROR(Read(json, "checkpoint_dir", c.checkpoint_dir));
  REEL_RETURN_IF_ERROR(Read(json, "resume", c.resume));
  REEL_RETURN_IF_ERROR(Read(json, "metrics_path", c.metrics_path));
  REEL_RETURN_IF_ERROR(Read(json, "model_path", c.model_path));
  REEL_RETURN_IF_ERROR(Read(json, "result_path", c.result_path));
  if (auto it = json.find("model_header"); it != json.end() && it->is_object()) {
    c.model_header = *it;
  }
  if (loss == "softmax") {
    c.loss = LossKind::kSoftmax;
  } else if (loss == "bpr") {
    c.loss = LossKind::kBpr;
  } else {
    return Status::InvalidArgument(
        fmt::format("train config: loss must be \"softmax\" or \"bpr\", got \"{}\"", loss));
  }
  REEL_RETURN_IF_ERROR(Check(!c.interactions.empty(), "\"interactions\" (a CSV path) is required"));
  REEL_RETURN_IF_ERROR(Check(c.epochs >= 0, "epochs must be >= 0"));
  REEL_RETURN_IF_ERROR(Check(c.batch_size >= 1, "batch_size must be >= 1"));
  REEL_RETURN_IF_ERROR(Check(c.lr > 0, "lr must be > 0"));
  REEL_RETURN_IF_ERROR(Check(c.dim >= 1 && c.dim <= 4096, "dim must be in [1, 4096]"));
  REEL_RETURN_IF_ERROR(Check(c.threads >= 1 && c.threads <= 256, "threads must be in [1, 256]"));
  REEL_RETURN_IF_ERROR(
      Check(c.world_size >= 1 && c.world_size <= 256, "world_size must be in [1, 256]"));
  REEL_RETURN_IF_ERROR(Check(c.negatives >= 1, "negatives must be >= 1"));
  REEL_RETURN_IF_ERROR(Check(c.weight_decay >= 0, "weight_decay must be >= 0"));
  REEL_RETURN_IF_ERROR(Check(c.uniform_negatives >= 0 && c.uniform_negatives <= 1000000,
                             "uniform_negatives must be in [0, 1000000]"));
  REEL_RETURN_IF_ERROR(Check(c.feature_clip > 0, "feature_clip must be > 0"));
  REEL_RETURN_IF_ERROR(Check(c.model == "two_tower" || c.model == "item_knn" || c.model == "ease",
                             "model must be two_tower, item_knn or ease"));
  REEL_RETURN_IF_ERROR(Check(c.neighbors >= 1, "neighbors must be >= 1"));
  REEL_RETURN_IF_ERROR(Check(c.shrinkage >= 0, "shrinkage must be >= 0"));
  REEL_RETURN_IF_ERROR(Check(c.ease_lambda > 0, "ease_lambda must be > 0"));
  REEL_RETURN_IF_ERROR(
      Check(c.device == "cpu" || c.device == "cuda", "device must be cpu or cuda"));
  REEL_RETURN_IF_ERROR(Check(c.collective_timeout_s >= 1, "collective_timeout_s must be >= 1"));
  REEL_RETURN_IF_ERROR(Check(!c.checkpoint_dir.empty(), "\"checkpoint_dir\" is required"));
  REEL_RETURN_IF_ERROR(Check(c.world_size == 1 || (c.master_port > 0 && c.master_port < 65536),
                             "master_port must be a TCP port when world_size > 1"));
  return c;
}

Result<TrainConfig> LoadTrainConfig(const std::string& path) {
  REEL_ASSIGN_OR_RETURN(auto text, ReadFileToString(path));
  nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return Status::InvalidArgument(fmt::format("train config {} is not valid JSON", path));
  }
  return ParseTrainConfig(json);
}

}  // namespace reel::trainer
