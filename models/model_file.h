// The recommender model file: what torch_train writes and what evaluate, promote and any
// serving program read, without LibTorch.
//
// Layout (all integers and floats little-endian):
//
//   bytes 0..7    magic "REELMDL1"
//   bytes 8..11   uint32 H, the length of the JSON header
//   next H bytes  the JSON header (UTF-8): {"format_version": 1, "dim", "num_users",
//                 "num_items", "users": [ids...], "items": [ids...], plus free-form
//                 metadata such as "model_type", "model_name", "trained_on", "config",
//                 "metrics"}
//   then          float32 user vectors, num_users x dim, row-major
//   then          float32 item vectors, num_items x dim, row-major, and nothing after
//
// The vectors are the final tower outputs, so the score of (user, item) is their dot product.
// docs/model-lifecycle.md ("Model file format") is the reference for other languages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "reel/status.h"

namespace reel {

inline constexpr char kRecModelMagic[8] = {'R', 'E', 'E', 'L', 'M', 'D', 'L', '1'};
inline constexpr int kRecModelFormatVersion = 1;

// An embedding model: one vector per user and per item. Not thread-safe to mutate; const
// methods may be called from any thread once Reindex() has run (LoadRecModel runs it).
struct RecModel {
  // Metadata other than the ids and sizes (which live in the fields below): model_type,
  // model_name, trained_on, config, metrics, ...
  nlohmann::json header = nlohmann::json::object();
  std::vector<std::string> users;
  std::vector<std::string> items;
  std::vector<float> user_vecs;  // users.size() x dim
  std::vector<float> item_vecs;  // items.size() x dim
  int dim = 0;

  // Rebuilds the id -> row maps after `users` or `items` changed.
  void Reindex();
  std::optional<std::size_t> UserIndex(std::string_view id) const;
  std::optional<std::size_t> ItemIndex(std::string_view id) const;

  const float* UserVec(std::size_t user) const { return user_vecs.data() + user * dim; }
  const float* ItemVec(std::size_t item) const { return item_vecs.data() + item * dim; }
  float Score(std::size_t user, std::size_t item) const;

  // The `k` best-scoring items for a user, best first, as (item row, score); ties broken by
  // the lower row. Items whose row is in `exclude` (e.g. already seen) are skipped.
  std::vector<std::pair<std::size_t, float>> TopK(
      std::size_t user, std::size_t k, const std::vector<std::size_t>& exclude = {}) const;

 private:
  std::unordered_map<std::string, std::size_t> user_index_;
  std::unordered_map<std::string, std::size_t> item_index_;
};

// Checks sizes and ids: dim > 0, vector lengths match, ids unique and non-empty.
Status ValidateRecModel(const RecModel& model);

// Serializes to the bytes of a model file.
Result<std::string> EncodeRecModel(const RecModel& model);
// Parses the bytes of a model file; `source` names it in errors.
Result<RecModel> DecodeRecModel(std::string_view bytes, std::string_view source = "model");

// Reads and validates a model file. Errors name the path and what is wrong.
Result<RecModel> LoadRecModel(const std::filesystem::path& path);
// Writes a model file atomically (temporary file, fsync, rename).
Status SaveRecModel(const RecModel& model, const std::filesystem::path& path);

}  // namespace reel
