#include "trainer/model.h"

namespace reel::trainer {
namespace {

constexpr double kEmbeddingInitStd = 0.1;

torch::Tensor FeatureTensor(const std::vector<float>& values, std::size_t rows, int dim,
                            torch::Device device) {
  if (dim == 0) return {};
  return torch::from_blob(const_cast<float*>(values.data()), {static_cast<std::int64_t>(rows), dim},
                          torch::kFloat32)
      .to(device, /*non_blocking=*/false, /*copy=*/true);
}

torch::Tensor WeightedMean(const torch::Tensor& per_example, const torch::Tensor& weights) {
  if (!weights.defined()) return per_example.mean();
  return (per_example * weights).sum() / weights.sum();
}

}  // namespace

TwoTowerImpl::TwoTowerImpl(const Dataset& data, int dim, torch::Device device)
    : num_items_(static_cast<std::int64_t>(data.items.size())) {
  auto num_users = static_cast<std::int64_t>(data.users.size());
  user_embedding_ = register_module("user_embedding", torch::nn::Embedding(num_users, dim));
  item_embedding_ = register_module("item_embedding", torch::nn::Embedding(num_items_, dim));
  {
    torch::NoGradGuard no_grad;
    user_embedding_->weight.normal_(0.0, kEmbeddingInitStd);
    item_embedding_->weight.normal_(0.0, kEmbeddingInitStd);
  }
  if (data.user_feature_dim > 0) {
    user_projection_ = register_module(
        "user_projection",
        torch::nn::Linear(torch::nn::LinearOptions(data.user_feature_dim, dim).bias(false)));
    user_features_ =
        FeatureTensor(data.user_features, data.users.size(), data.user_feature_dim, device);
  }
  if (data.item_feature_dim > 0) {
    item_projection_ = register_module(
        "item_projection",
        torch::nn::Linear(torch::nn::LinearOptions(data.item_feature_dim, dim).bias(false)));
    item_features_ =
        FeatureTensor(data.item_features, data.items.size(), data.item_feature_dim, device);
  }
  to(device);
}

torch::Tensor TwoTowerImpl::UserVectors(const torch::Tensor& users) {
  torch::Tensor out = user_embedding_(users);
  if (user_projection_) out = out + user_projection_(user_features_.index_select(0, users));
  return out;
}

torch::Tensor TwoTowerImpl::ItemVectors(const torch::Tensor& items) {
  torch::Tensor out = item_embedding_(items);
  if (item_projection_) out = out + item_projection_(item_features_.index_select(0, items));
  return out;
}

torch::Tensor InBatchSoftmaxLoss(TwoTower& model, const torch::Tensor& users,
                                 const torch::Tensor& items, const torch::Tensor& weights,
                                 const torch::Tensor& item_log_frequency, int uniform_negatives,
                                 at::Generator* generator) {
  const std::int64_t batch = users.size(0);
  torch::Tensor u = model->UserVectors(users);
  torch::Tensor v = model->ItemVectors(items);
  torch::Tensor logits = torch::mm(u, v.t());  // [B, B]
  const bool correct = item_log_frequency.defined();
  if (correct) {
    torch::Tensor log_q = item_log_frequency.index_select(0, items) + std::log(double(batch));
    logits = logits - log_q.unsqueeze(0);
  }
  if (uniform_negatives > 0 && generator != nullptr) {
    // Sampled on the CPU generator so that the stream is the same on every device.
    torch::Tensor drawn =
        torch::randint(model->num_items(), {uniform_negatives}, *generator, torch::kInt64)
            .to(users.device());
    torch::Tensor extra = torch::mm(u, model->ItemVectors(drawn).t());  // [B, U]
    if (correct) {
      extra = extra - std::log(double(uniform_negatives) / double(model->num_items()));
    }
    logits = torch::cat({logits, extra}, 1);
  }
  torch::Tensor targets = torch::arange(batch, users.options());
  torch::Tensor per_example = torch::nn::functional::cross_entropy(
      logits, targets, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  return WeightedMean(per_example, weights);
}

torch::Tensor BprLoss(TwoTower& model, const torch::Tensor& users, const torch::Tensor& items,
                      const torch::Tensor& weights, int negatives, at::Generator& generator) {
  std::int64_t batch = users.size(0);
  torch::Tensor u = model->UserVectors(users);                                   // [B, d]
  torch::Tensor pos = (u * model->ItemVectors(items)).sum(1, /*keepdim=*/true);  // [B, 1]
  // Sampled on the CPU generator so that the stream is the same on every device.
  torch::Tensor neg_items =
      torch::randint(model->num_items(), {batch * negatives}, generator, torch::kInt64)
          .to(users.device());
  torch::Tensor neg_vecs = model->ItemVectors(neg_items).view({batch, negatives, -1});  // [B, k, d]
  torch::Tensor neg = torch::bmm(neg_vecs, u.unsqueeze(2)).squeeze(2);                  // [B, k]
  torch::Tensor per_example = -torch::nn::functional::logsigmoid(pos - neg).mean(1);
  return WeightedMean(per_example, weights);
}

}  // namespace reel::trainer
