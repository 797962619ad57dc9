#include "trainer/distributed.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
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

// The address of this machine's interface that reaches `host` (rank 0's): where this rank's
// Gloo device listens, so that ranks on several nodes reach each other. A UDP connect sends
// nothing; it only asks the kernel for the route.
std::string LocalAddressToward(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), "9", &hints, &found) != 0 || found == nullptr) return host;
  std::string local = host;
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && ::connect(fd, found->ai_addr, found->ai_addrlen) == 0) {
    sockaddr_in addr{};
    socklen_t len = sizeof(addr);
    char text[INET_ADDRSTRLEN] = {};
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
        ::inet_ntop(AF_INET, &addr.sin_addr, text, sizeof(text)) != nullptr) {
      local = text;
    }
  }
  if (fd >= 0) ::close(fd);
  ::freeaddrinfo(found);
  return local;
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
    options->devices.push_back(
        c10d::ProcessGroupGloo::createDeviceForHostname(LocalAddressToward(config.master_addr)));
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
                                   std::vector<torch::Tensor> params,
                                   const std::vector<RowSparseParam>& row_sparse,
                                   std::size_t bucket_bytes)
    : group_(std::move(group)), params_(std::move(params)) {
  for (std::size_t i = 0; i < params_.size(); ++i) {
    auto it = std::find_if(row_sparse.begin(), row_sparse.end(),
                           [&](const RowSparseParam& r) { return r.param.is_same(params_[i]); });
    if (it != row_sparse.end() && params_[i].dim() == 2) {
      // A step cannot touch more rows than the table has.
      sparse_.push_back(
          {i, std::max<std::int64_t>(1, std::min<std::int64_t>(it->max_rows, params_[i].size(0)))});
    } else {
      dense_.push_back(i);
    }
  }
  if (!sparse_.empty()) {  // everything goes through AverageRowSparse
    std::int64_t width = 0;
    for (Sparse& s : sparse_) {
      s.offset = width;
      width += 1 + s.max_rows + s.max_rows * params_[s.param].size(1);
    }
    dense_offset_ = width;
    for (std::size_t i : dense_) width += params_[i].numel();
    packed_ = torch::empty({width}, params_[sparse_[0].param].options());
    gathered_.resize(1);
    for (int r = 0; r < group_->getSize(); ++r) gathered_[0].push_back(torch::empty_like(packed_));
    return;
  }
  dense_.clear();  // all parameters go through the buckets
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
    bool same_kind =
        current.params.empty() || params_[current.params[0]].options().type_equal(p.options());
    if (!current.params.empty() && (current_bytes + bytes > bucket_bytes || !same_kind)) close();
    current.params.push_back(i);
    current.offsets.push_back(elements);
    elements += p.numel();
  }
  close();
}

void GradientAverager::Average() {
  torch::NoGradGuard no_grad;
  for (torch::Tensor& p : params_) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
  }
  if (sparse_.empty()) {
    AverageDense();
  } else {
    AverageRowSparse();
  }
}

void GradientAverager::AverageRowSparse() {
  // One allgather a step. Each rank packs, per table, the count and ids of the rows its
  // gradient touched (int32 bits) and those rows, then every other gradient; every rank then
  // sums all ranks' contributions in rank order, so all get the same result.
  torch::Tensor& packed = packed_;
  std::vector<torch::Tensor> local_rows;
  for (std::size_t k = 0; k < sparse_.size(); ++k) {
    const torch::Tensor& grad = params_[sparse_[k].param].grad();
    torch::Tensor rows = grad.ne(0).any(1).nonzero().reshape({-1});
    std::int64_t count = rows.size(0), bound = sparse_[k].max_rows;
    if (count > bound) {
      throw CollectiveError(fmt::format(
          "a step touched {} rows of an embedding table, more than the {} it was sized for", count,
          bound));
    }
    torch::Tensor ids = packed.narrow(0, sparse_[k].offset, 1 + bound).view(torch::kInt32);
    ids.narrow(0, 0, 1).fill_(static_cast<std::int32_t>(count));
    ids.narrow(0, 1, count).copy_(rows);
    packed.narrow(0, sparse_[k].offset + 1 + bound, count * grad.size(1))
        .view({count, grad.size(1)})
        .copy_(grad.index_select(0, rows));
    local_rows.push_back(rows);
  }
  std::int64_t at = dense_offset_;
  for (std::size_t i : dense_) {
    const torch::Tensor& grad = params_[i].grad();
    packed.narrow(0, at, grad.numel()).copy_(grad.reshape({-1}));
    at += grad.numel();
  }

  std::vector<torch::Tensor> input{packed};
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  try {
    works.push_back(group_->allgather(gathered_, input));
  } catch (const std::exception& e) {
    throw CollectiveError(fmt::format("gradient allgather failed: {}", e.what()));
  }
  WaitAll(works, "gradient allgather");

  const double scale = 1.0 / group_->getSize();
  for (std::size_t k = 0; k < sparse_.size(); ++k) {
    torch::Tensor& grad = params_[sparse_[k].param].mutable_grad();
    std::int64_t bound = sparse_[k].max_rows, dim = grad.size(1);
    grad.index_fill_(0, local_rows[k], 0);  // rows nobody touched are zero on every rank
    for (const torch::Tensor& from : gathered_[0]) {
      torch::Tensor ids = from.narrow(0, sparse_[k].offset, 1 + bound).view(torch::kInt32);
      std::int64_t count = ids.narrow(0, 0, 1).item<std::int32_t>();
      if (count == 0) continue;
      torch::Tensor values =
          from.narrow(0, sparse_[k].offset + 1 + bound, count * dim).view({count, dim});
      grad.index_add_(0, ids.narrow(0, 1, count).to(torch::kInt64), values * scale);
    }
  }
  at = dense_offset_;
  for (std::size_t i : dense_) {
    torch::Tensor& grad = params_[i].mutable_grad();
    grad.zero_();
    for (const torch::Tensor& from : gathered_[0]) {
      grad.add_(from.narrow(0, at, grad.numel()).view(grad.sizes()), scale);
    }
    at += grad.numel();
  }
}

void GradientAverager::AverageDense() {
  std::vector<std::vector<torch::Tensor>> inputs;
  inputs.reserve(buckets_.size());
  for (Bucket& bucket : buckets_) {
    for (std::size_t j = 0; j < bucket.params.size(); ++j) {
      const torch::Tensor& p = params_[bucket.params[j]];
      bucket.flat.narrow(0, bucket.offsets[j], p.numel()).copy_(p.grad().reshape({-1}));
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
      p.mutable_grad().copy_(bucket.flat.narrow(0, bucket.offsets[j], p.numel()).view(p.sizes()));
    }
  }
}

}  // namespace reel::trainer
