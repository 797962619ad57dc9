// The two-tower recommender and its losses (LibTorch).
//
//   user tower:  u = E_user[user] + W_user * features(user)   (the linear part only when user
//                features were given)
//   item tower:  v = E_item[item] + W_item * features(item)
//   score(user, item) = <u, v>
//
// Features are constant inputs kept beside the module, not parameters, so a checkpoint holds
// only what training changes.
#pragma once

#include <torch/torch.h>

#include "trainer/dataset.h"
#include "trainer/train_config.h"

namespace reel::trainer {

class TwoTowerImpl : public torch::nn::Module {
 public:
  // Initializes the parameters from torch's global generator (seed it first). `data` gives
  // the sizes and the feature matrices, copied to `device`.
  TwoTowerImpl(const Dataset& data, int dim, torch::Device device);

  // Tower outputs for a 1-D int64 tensor of rows: [n, dim].
  torch::Tensor UserVectors(const torch::Tensor& users);
  torch::Tensor ItemVectors(const torch::Tensor& items);

  std::int64_t num_items() const { return num_items_; }
  torch::Tensor user_table() const { return user_embedding_->weight; }
  torch::Tensor item_table() const { return item_embedding_->weight; }

 private:
  std::int64_t num_items_;
  torch::nn::Embedding user_embedding_{nullptr};
  torch::nn::Embedding item_embedding_{nullptr};
  torch::nn::Linear user_projection_{nullptr};  // null without user features
  torch::nn::Linear item_projection_{nullptr};
  torch::Tensor user_features_;  // [num_users, fu] on the device, or undefined
  torch::Tensor item_features_;
};
TORCH_MODULE(TwoTower);

// Sampled softmax with in-batch negatives: each user's positive item against the other items
// of the batch, and against `uniform_negatives` items drawn uniformly from `generator` (mixed
// negative sampling). `weights` (or an undefined tensor) weights the examples.
//
// With `item_log_frequency` defined (one value per item: log of its share of the
// interactions), every logit is corrected by the log of the probability with which its item
// was sampled (logQ correction): log(batch * frequency) for an in-batch item,
// log(uniform_negatives / items) for a uniform one. Without it, popular items, which appear
// as negatives far more often, are pushed down and the model drifts to the long tail.
torch::Tensor InBatchSoftmaxLoss(TwoTower& model, const torch::Tensor& users,
                                 const torch::Tensor& items, const torch::Tensor& weights,
                                 const torch::Tensor& item_log_frequency = {},
                                 int uniform_negatives = 0, at::Generator* generator = nullptr);

// Bayesian personalized ranking against `negatives` uniformly sampled items per positive,
// drawn from `generator`.
torch::Tensor BprLoss(TwoTower& model, const torch::Tensor& users, const torch::Tensor& items,
                      const torch::Tensor& weights, int negatives, at::Generator& generator);

}  // namespace reel::trainer
