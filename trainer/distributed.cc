#include "trainer/distributed.h"

#include <chrono>

#include <fmt/format.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace reel::trainer {
namespace {

void WaitAll(std::vector<c10::intrusive_ptr<c10d::Work>>& works, const char* what) {
  try {
    for (auto& work : works) work->wait();
  } catch (const std::exception& e) {
    throw CollectiveError(fmt::format("{} failed: {}", what, e.what()));
  }
}

}  // namespace

c10::intrusive_ptr<c10d::ProcessGroup> JoinProcessGroup(const TrainConfig& config, int rank,
                                                        const torch::Device& device) {
  auto timeout = std::chrono::milliseconds(std::chrono::seconds(config.collective_timeout_s));
  c10::intrusive_ptr<c10d::Store> store;
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(config.master_port);
    options.isServer = rank == 0;
    options.numWorkers = static_cast<std::size_t>(config.world_size);
    options.waitWorkers = true;
    options.timeout = timeout;
    store = c10::make_intrusive<c10d::TCPStore>(config.master_addr, options);
  } catch (const std::exception& e) {
    throw CollectiveError(fmt::format("rendezvous on {}:{} failed ({} ranks, timeout {} s): {}",
                                      config.master_addr, config.master_port, config.world_size,
                                      config.collective_timeout_s, e.what()));
  }
  try {
    if (device.is_cuda()) {
#ifdef USE_C10D_NCCL
      c10::cuda::set_device(device.index());
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, config.world_size, options);
#else
      throw CollectiveError("this LibTorch was built without NCCL; CUDA training needs it");
#endif
    }
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(config.master_addr));
    options->threads = 1;
    return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, config.world_size, options);
  } catch (const CollectiveError&) {
    throw;
  } catch (const std::exception& e) {
    throw CollectiveError(fmt::format("creating the process group failed: {}", e.what()));
  }
}

void AllReduceSum(c10d::ProcessGroup& group, std::vector<torch::Tensor>& tensors) {
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  try {
    for (auto& t : tensors) {
      std::vector<torch::Tensor> one{t};
      works.push_back(group.allreduce(one));
    }
  } catch (const std::exception& e) {
    throw CollectiveError(fmt::format("allreduce failed: {}", e.what()));
  }
  WaitAll(works, "allreduce");
}

GradientAverager::GradientAverager(c10::intrusive_ptr<c10d::ProcessGroup> group,
                                   std::vector<torch::Tensor> params, std::size_t bucket_bytes)
    : group_(std::move(group)), params_(std::move(params)) {
  Bucket current;
  std::int64_t elements = 0;
  auto close = [&] {
    if (current.params.empty()) return;
    current.flat = torch::zeros({elements}, params_[current.params[0]].options());
    buckets_.push_back(std::move(current));
    current = Bucket();
    elements = 0;
  };
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const torch::Tensor& p = params_[i];
    std::size_t bytes = static_cast<std::size_t>(p.numel()) * p.element_size();
    std::size_t current_bytes = static_cast<std::size_t>(elements) * p.element_size();
    bool same_kind = current.params.empty() ||
                     params_[current.params[0]].options().type_equal(p.options());
    if (!current.params.empty() && (current_bytes + bytes > bucket_bytes || !same_kind)) close();
    current.params.push_back(i);
    current.offsets.push_back(elements);
    elements += p.numel();
  }
  close();
}

void GradientAverager::Average() {
  torch::NoGradGuard no_grad;
  std::vector<std::vector<torch::Tensor>> inputs;
  inputs.reserve(buckets_.size());
  for (Bucket& bucket : buckets_) {
    for (std::size_t j = 0; j < bucket.params.size(); ++j) {
      const torch::Tensor& p = params_[bucket.params[j]];
      torch::Tensor slot = bucket.flat.narrow(0, bucket.offsets[j], p.numel());
      if (p.grad().defined()) {
        slot.copy_(p.grad().reshape({-1}));
      } else {
        slot.zero_();
      }
    }
    inputs.push_back({bucket.flat});
  }
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  try {
    for (auto& input : inputs) works.push_back(group_->allreduce(input));
  } catch (const std::exception& e) {
    throw CollectiveError(fmt::format("gradient allreduce failed: {}", e.what()));
  }
  WaitAll(works, "gradient allreduce");
  double scale = 1.0 / group_->getSize();
  for (Bucket& bucket : buckets_) {
    bucket.flat.mul_(scale);
    for (std::size_t j = 0; j < bucket.params.size(); ++j) {
      torch::Tensor& p = params_[bucket.params[j]];
      torch::Tensor slot = bucket.flat.narrow(0, bucket.offsets[j], p.numel()).view(p.sizes());
      if (p.grad().defined()) {
        p.mutable_grad().copy_(slot);
      } else {
        p.mutable_grad() = slot.clone();
      }
    }
  }
}

}  // namespace reel::trainer
