#include "trainer/train_rank.h"

#include <dlfcn.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include "engine/base/fsutil.h"
#include "models/model_file.h"
#include "trainer/checkpoint.h"
#include "trainer/dataset.h"
#include "trainer/distributed.h"
#include "trainer/model.h"
#include "trainer/prng.h"

namespace reel::trainer {
namespace {

namespace fs = std::filesystem;

// Purposes of the derived random streams (prng.h).
constexpr std::uint64_t kShuffleStream = 1;
constexpr std::uint64_t kNegativeStream = 2;
constexpr std::int64_t kExportChunk = 65536;

template <typename... Args>
void Say(fmt::format_string<Args...> f, Args&&... args) {
  std::string line = fmt::format(f, std::forward<Args>(args)...);
  std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
}

torch::Device PickDevice(const TrainConfig& config, int rank) {
  if (config.device == "cuda") {
    if (torch::cuda::is_available() && torch::cuda::device_count() > 0) {
      // Under srun, the task's index on its node picks its GPU; else the rank does.
      const char* local = std::getenv("SLURM_LOCALID");
      int slot = local != nullptr && *local != '\0' ? std::atoi(local) : rank;
      auto index =
          static_cast<c10::DeviceIndex>(slot % static_cast<int>(torch::cuda::device_count()));
      return torch::Device(torch::kCUDA, index);
    }
    if (rank == 0) {
      Say("warning: the step asks for GPUs but this LibTorch has no CUDA device; training on "
          "the CPU with Gloo");
    }
  }
  return torch::Device(torch::kCPU);
}

// REEL_TRAIN_FAIL_AFTER_EPOCH / REEL_TRAIN_FAIL_RANK (see train_rank.h); -1 when unset.
int InjectedFailureEpoch(int rank) {
  const char* epoch = std::getenv("REEL_TRAIN_FAIL_AFTER_EPOCH");
  if (epoch == nullptr || *epoch == '\0') return -1;
  const char* fail_rank = std::getenv("REEL_TRAIN_FAIL_RANK");
  int target = fail_rank != nullptr && *fail_rank != '\0' ? std::atoi(fail_rank) : 0;
  return target == rank ? std::atoi(epoch) : -1;
}

Status InjectedFailure(int epoch) {
  return Status::Failed(
      fmt::format("injected failure after epoch {} (REEL_TRAIN_FAIL_AFTER_EPOCH is set)", epoch));
}

torch::Tensor IndexTensor(const std::vector<std::int64_t>& values, const torch::Device& device) {
  return torch::from_blob(const_cast<std::int64_t*>(values.data()),
                          {static_cast<std::int64_t>(values.size())}, torch::kInt64)
      .to(device, /*non_blocking=*/false, /*copy=*/true);
}

// This rank's rows for one epoch (see the sharding contract in train_rank.h).
torch::Tensor EpochShard(std::size_t num_rows, const TrainConfig& config, int rank, int epoch,
                         const torch::Device& device) {
  std::vector<std::int64_t> perm(num_rows);
  for (std::size_t i = 0; i < num_rows; ++i) perm[i] = static_cast<std::int64_t>(i);
  Shuffle(perm, DeriveSeed(config.seed, kShuffleStream, static_cast<std::uint64_t>(epoch), 0));
  auto world = static_cast<std::size_t>(config.world_size);
  std::size_t per_rank = (num_rows + world - 1) / world;
  std::vector<std::int64_t> shard;
  shard.reserve(per_rank);
  for (std::size_t j = 0; j < per_rank; ++j) {
    shard.push_back(perm[(j * world + static_cast<std::size_t>(rank)) % num_rows]);
  }
  return IndexTensor(shard, device);
}

Status AppendLine(const std::string& path, const std::string& line) {
  if (path.empty()) return Status::Ok();
  std::FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) return Status::IoError(fmt::format("cannot append to {}", path));
  std::string text = line + "\n";
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  return ok ? Status::Ok() : Status::IoError(fmt::format("cannot write {}", path));
}

nlohmann::json LossJson(double loss) {
  return std::isfinite(loss) ? nlohmann::json(loss) : nlohmann::json();
}

std::vector<float> TowerOutputs(TwoTower& model, bool users, std::int64_t rows,
                                const torch::Device& device) {
  torch::NoGradGuard no_grad;
  std::vector<float> out;
  out.reserve(static_cast<std::size_t>(rows) * 32);
  for (std::int64_t start = 0; start < rows; start += kExportChunk) {
    std::int64_t n = std::min(kExportChunk, rows - start);
    torch::Tensor index =
        torch::arange(start, start + n, torch::TensorOptions(torch::kInt64).device(device));
    torch::Tensor vecs = (users ? model->UserVectors(index) : model->ItemVectors(index))
                             .to(torch::kCPU, torch::kFloat32)
                             .contiguous();
    out.insert(out.end(), vecs.data_ptr<float>(), vecs.data_ptr<float>() + vecs.numel());
  }
  return out;
}

Status ExportModel(const TrainConfig& config, const Dataset& data, TwoTower& model,
                   const torch::Device& device, int epochs_done, double final_loss) {
  RecModel out;
  out.dim = config.dim;
  out.users = data.users;
  out.items = data.items;
  out.user_vecs = TowerOutputs(model, true, static_cast<std::int64_t>(data.users.size()), device);
  out.item_vecs = TowerOutputs(model, false, static_cast<std::int64_t>(data.items.size()), device);
  out.header = config.model_header;
  out.header["model_type"] = "two_tower";
  nlohmann::json training = config.TrainingJson();
  training["epochs"] = epochs_done;
  out.header["config"] = training;
  out.header["metrics"] = {{"final_loss", LossJson(final_loss)}, {"epochs", epochs_done}};
  out.header["num_interactions"] = data.num_interactions();
  out.header["user_feature_dim"] = data.user_feature_dim;
  out.header["item_feature_dim"] = data.item_feature_dim;
  return SaveRecModel(out, config.model_path);
}

// LibTorch's thread setting does not reach a system BLAS that keeps its own pool (OpenBLAS,
// when Debian's alternatives select it): give it the same number, or ranks oversubscribe cores.
void SetBlasThreads(int threads) {
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(::dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    fn(threads);
  }
}

// The largest catalog a classical model computes densely (items x items floats).
constexpr std::int64_t kMaxClassicalItems = 20000;

// item_knn and ease (TrainConfig::model): computed in closed form by rank 0 and exported as a
// model file whose dot product is the model's score.
RankOutcome TrainClassical(const TrainConfig& config, const Dataset& data, int rank) {
  if (rank != 0) return {};  // one process computes it; other ranks have nothing to do
  const auto num_users = static_cast<std::int64_t>(data.users.size());
  const auto num_items = static_cast<std::int64_t>(data.items.size());
  if (num_items > kMaxClassicalItems) {
    return {Status::InvalidArgument(
        fmt::format("model {} holds an items x items matrix; {} items exceed the limit of {} (use "
                    "two_tower, or filter the catalog)",
                    config.model, num_items, kMaxClassicalItems))};
  }
  auto started = std::chrono::steady_clock::now();
  torch::NoGradGuard no_grad;
  torch::Tensor x = torch::zeros({num_users, num_items}, torch::kFloat32);
  auto acc = x.accessor<float, 2>();
  for (std::size_t k = 0; k < data.num_interactions(); ++k) {
    acc[data.interaction_user[k]][data.interaction_item[k]] = 1.0f;
  }
  torch::Tensor gram = torch::mm(x.t(), x).to(torch::kFloat64);  // co-occurrence counts
  torch::Tensor weights;                                         // [items, items]: j -> i
  if (config.model == "item_knn") {
    torch::Tensor norms = gram.diagonal().sqrt();
    torch::Tensor sim = gram / (torch::outer(norms, norms) + config.shrinkage + 1e-12);
    sim.fill_diagonal_(0.0);
    // Keep each item's `neighbors` most similar items (a column's top entries).
    std::int64_t k = std::min<std::int64_t>(config.neighbors, std::max<std::int64_t>(1, num_items));
    auto top = sim.topk(k, /*dim=*/0);
    weights = torch::zeros_like(sim).scatter_(0, std::get<1>(top), std::get<0>(top));
  } else {
    torch::Tensor g = gram.clone();
    g.diagonal().add_(config.ease_lambda);
    torch::Tensor p = torch::inverse(g);
    weights = -p / p.diagonal().unsqueeze(0);
    weights.fill_diagonal_(0.0);
  }
  RecModel out;
  out.dim = static_cast<int>(num_items);
  out.users = data.users;
  out.items = data.items;
  out.user_vecs.assign(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
  torch::Tensor item_rows = weights.t().contiguous().to(torch::kFloat32);  // row i: column i
  out.item_vecs.assign(item_rows.data_ptr<float>(),
                       item_rows.data_ptr<float>() + item_rows.numel());
  out.header = config.model_header;
  out.header["model_type"] = config.model;
  out.header["config"] = config.TrainingJson();
  out.header["metrics"] = {{"final_loss", nullptr}, {"epochs", 0}};
  out.header["num_interactions"] = data.num_interactions();
  Status saved = SaveRecModel(out, config.model_path);
  if (!saved.ok()) return {saved};
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  Say("{}: {} users x {} items from {} interactions in {:.2f} s", config.model, num_users,
      num_items, data.num_interactions(), seconds);
  nlohmann::json result = {
      {"final_loss", nullptr},
      {"epochs", 0},
      {"epochs_run", 0},
      {"resumed_from_epoch", 0},
      {"examples_per_s", static_cast<double>(data.num_interactions()) / std::max(seconds, 1e-9)},
      {"num_users", data.users.size()},
      {"num_items", data.items.size()},
      {"num_interactions", data.num_interactions()},
      {"device", "cpu"},
      {"backend", "none"},
  };
  if (!config.result_path.empty()) {
    Status written = WriteFileAtomic(config.result_path, result.dump(2) + "\n");
    if (!written.ok()) return {written};
  }
  return {};
}

RankOutcome Train(const TrainConfig& config, int rank) {
  torch::set_num_threads(config.threads);
  SetBlasThreads(config.threads);
  auto loaded = LoadDataset(config);
  if (!loaded.ok()) return {loaded.status()};
  const Dataset& data = *loaded;
  if (config.model != "two_tower") return TrainClassical(config, data, rank);
  torch::Device device = PickDevice(config, rank);

  c10::intrusive_ptr<c10d::ProcessGroup> group;
  if (config.world_size > 1) group = JoinProcessGroup(config, rank, device);

  // Same seed on every rank: identical initial parameters without a broadcast.
  torch::manual_seed(config.seed);
  TwoTower model(data, config.dim, device);
  torch::optim::Adagrad optimizer(
      model->parameters(),
      torch::optim::AdagradOptions(config.lr).weight_decay(config.weight_decay));
  std::optional<GradientAverager> averager;
  if (group) {
    // A batch looks up batch_size users, and its items plus any sampled negatives.
    std::int64_t items_per_batch =
        config.batch_size *
        (1 + (config.loss == LossKind::kSoftmax ? 0 : static_cast<std::int64_t>(config.negatives)));
    averager.emplace(group, model->parameters(),
                     std::vector<RowSparseParam>{{model->user_table(), config.batch_size},
                                                 {model->item_table(), items_per_batch}});
  }

  int start_epoch = 0;
  double last_loss = std::numeric_limits<double>::quiet_NaN();
  std::error_code ec;
  fs::create_directories(config.checkpoint_dir, ec);
  std::string checkpoint_path = (fs::path(config.checkpoint_dir) / "checkpoint.pt").string();
  if (config.resume) {
    auto ckpt = LoadCheckpoint(checkpoint_path, config.Fingerprint(), config.epochs, model,
                               optimizer, device);
    if (!ckpt.ok()) return {ckpt.status()};
    if (ckpt->has_value() && (*ckpt)->restored) {
      start_epoch = (*ckpt)->epochs_done;
      last_loss = (*ckpt)->last_loss;
      if (rank == 0) Say("resuming from the checkpoint after epoch {}", start_epoch);
    } else if (ckpt->has_value() && !(*ckpt)->damaged.empty()) {
      if (rank == 0) {
        Say("the checkpoint {} is damaged ({}); training from scratch", checkpoint_path,
            (*ckpt)->damaged);
      }
    } else if (ckpt->has_value() && rank == 0) {
      Say("ignoring the checkpoint in {}: it was written with other settings or more epochs "
          "({}); training from scratch",
          config.checkpoint_dir, (*ckpt)->epochs_done);
    }
  }

  int fail_after = InjectedFailureEpoch(rank);
  if (fail_after == 0) return {InjectedFailure(fail_after)};

  torch::Tensor all_users = IndexTensor(data.interaction_user, device);
  torch::Tensor all_items = IndexTensor(data.interaction_item, device);
  torch::Tensor all_weights;
  if (data.has_weights) {
    all_weights = torch::from_blob(const_cast<float*>(data.interaction_weight.data()),
                                   {static_cast<std::int64_t>(data.interaction_weight.size())},
                                   torch::kFloat32)
                      .to(device, false, true);
  }
  torch::Tensor item_log_frequency;
  if (config.logq_correction && config.loss == LossKind::kSoftmax) {
    item_log_frequency =
        torch::from_blob(const_cast<float*>(data.item_log_frequency.data()),
                         {static_cast<std::int64_t>(data.item_log_frequency.size())},
                         torch::kFloat32)
            .to(device, false, true);
  }
  const auto double_options = torch::TensorOptions(torch::kFloat64).device(device);
  double examples_per_s_sum = 0;
  int epochs_run = 0;
  for (int epoch = start_epoch; epoch < config.epochs; ++epoch) {
    auto started = std::chrono::steady_clock::now();
    torch::Tensor shard = EpochShard(data.num_interactions(), config, rank, epoch, device);
    at::Generator negatives = at::make_generator<at::CPUGeneratorImpl>(
        DeriveSeed(config.seed, kNegativeStream, static_cast<std::uint64_t>(epoch),
                   static_cast<std::uint64_t>(rank)));
    std::int64_t rows = shard.size(0);
    torch::Tensor loss_sum = torch::zeros({}, double_options);
    for (std::int64_t begin = 0; begin < rows; begin += config.batch_size) {
      std::int64_t n = std::min<std::int64_t>(config.batch_size, rows - begin);
      torch::Tensor index = shard.narrow(0, begin, n);
      torch::Tensor users = all_users.index_select(0, index);
      torch::Tensor items = all_items.index_select(0, index);
      torch::Tensor weights =
          data.has_weights ? all_weights.index_select(0, index) : torch::Tensor();
      optimizer.zero_grad();
      torch::Tensor loss =
          config.loss == LossKind::kSoftmax
              ? InBatchSoftmaxLoss(model, users, items, weights, item_log_frequency,
                                   config.uniform_negatives, &negatives)
              : BprLoss(model, users, items, weights, config.negatives, negatives);
      loss.backward();
      if (averager) averager->Average();
      optimizer.step();
      loss_sum += loss.detach().to(torch::kFloat64) * static_cast<double>(n);
    }
    std::vector<torch::Tensor> stats{
        torch::stack({loss_sum, torch::full({}, static_cast<double>(rows), double_options)})};
    if (group) AllReduceSum(*group, stats);
    torch::Tensor totals = stats[0].to(torch::kCPU);
    double examples = totals[1].item<double>();
    last_loss = totals[0].item<double>() / examples;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    double examples_per_s = examples / std::max(seconds, 1e-9);
    examples_per_s_sum += examples_per_s;
    ++epochs_run;
    if (!std::isfinite(last_loss)) {
      return {Status::Failed(
          fmt::format("the loss diverged in epoch {} ({}); lower lr (now {}) or add weight_decay",
                      epoch + 1, last_loss, config.lr))};
    }
    if (rank == 0) {
      Status saved = SaveCheckpoint(checkpoint_path, model, optimizer,
                                    {epoch + 1, last_loss, config.Fingerprint(), true});
      if (!saved.ok()) return {saved};
      nlohmann::json line = {{"epoch", epoch + 1},
                             {"loss", last_loss},
                             {"examples_per_s", examples_per_s},
                             {"examples", examples},
                             {"seconds", seconds}};
      Status appended = AppendLine(config.metrics_path, line.dump());
      if (!appended.ok()) return {appended};
      Say("epoch {}/{}: loss {:.5f}, {:.0f} examples/s", epoch + 1, config.epochs, last_loss,
          examples_per_s);
    }
    if (fail_after == epoch + 1) return {InjectedFailure(fail_after)};
  }

  if (rank != 0) return {};
  int epochs_done = config.epochs;
  Status exported = ExportModel(config, data, model, device, epochs_done, last_loss);
  if (!exported.ok()) return {exported};
  nlohmann::json result = {
      {"final_loss", LossJson(last_loss)},
      {"epochs", epochs_done},
      {"epochs_run", epochs_run},
      {"resumed_from_epoch", start_epoch},
      {"examples_per_s",
       epochs_run > 0 ? nlohmann::json(examples_per_s_sum / epochs_run) : nlohmann::json()},
      {"num_users", data.users.size()},
      {"num_items", data.items.size()},
      {"num_interactions", data.num_interactions()},
      {"device", device.str()},
      {"backend", !group             ? "none"
                  : device.is_cuda() ? "nccl"
                                     : "gloo"},
  };
  if (!config.result_path.empty()) {
    Status written = WriteFileAtomic(config.result_path, result.dump(2) + "\n");
    if (!written.ok()) return {written};
  }
  return {};
}

}  // namespace

RankOutcome RunRank(const TrainConfig& config, int rank) {
  try {
    return Train(config, rank);
  } catch (const CollectiveError& e) {
    return {Status::Failed(e.what()), true};
  } catch (const std::exception& e) {
    return {Status::Internal(fmt::format("training failed: {}", e.what()))};
  }
}

}  // namespace reel::trainer
