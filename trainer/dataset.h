// The training data of one job, read from the feature ETL's CSV files. No LibTorch here:
// the ranks turn these vectors into tensors.
//
//   interactions   header with `user_id`, `item_id`, optional `weight` (> 0, default 1) and
//                  any other columns (`ts`, ...), which are ignored. Ids are strings.
//   user_features  header `user_id,<numeric columns...>`; item_features likewise with
//                  `item_id`. Empty cells and users/items without a row read as 0. Columns
//                  are standardized (zero mean, unit variance) over the file's rows.
//
// Users and items are numbered in byte order of their ids over the union of all files, so
// the numbering depends only on the data, never on file order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reel/status.h"
#include "trainer/train_config.h"

namespace reel::trainer {

struct Dataset {
  std::vector<std::string> users;  // row -> id, sorted
  std::vector<std::string> items;
  std::vector<std::int64_t> interaction_user;  // per interaction: a row of `users`
  std::vector<std::int64_t> interaction_item;
  std::vector<float> interaction_weight;  // all 1 when the file has no weight column
  bool has_weights = false;
  int user_feature_dim = 0;  // 0 when no user features were given
  int item_feature_dim = 0;
  std::vector<float> user_features;  // users.size() x user_feature_dim
  std::vector<float> item_features;  // items.size() x item_feature_dim
  // log of each item's share of the interactions: its in-batch sampling probability, up to a
  // constant (the softmax's logQ correction).
  std::vector<float> item_log_frequency;

  std::size_t num_interactions() const { return interaction_user.size(); }
};

// Reads the files named by `config`. Errors name the file, line and column.
Result<Dataset> LoadDataset(const TrainConfig& config);

}  // namespace reel::trainer
