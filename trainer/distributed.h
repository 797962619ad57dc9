// Data parallelism for the ranks of one job: the c10d process group (a TCPStore rendezvous
// served by rank 0; Gloo on CPU, NCCL on CUDA) and bucketed gradient averaging.
//
// Every collective here is bounded by the job's collective timeout, so a rank whose peer died
// or hangs gets a CollectiveError instead of waiting forever.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/torch.h>

#include "trainer/train_config.h"

namespace reel::trainer {

// A collective (or the rendezvous) failed: usually another rank died or timed out.
class CollectiveError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Joins the job's process group. `device` is the device this rank trains on; a CUDA device
// selects NCCL (when LibTorch was built with it), anything else Gloo over 127.0.0.1.
// Throws CollectiveError when the rendezvous fails or times out.
c10::intrusive_ptr<c10d::ProcessGroup> JoinProcessGroup(const TrainConfig& config, int rank,
                                                        const torch::Device& device);

// Sums `tensors` in place over all ranks (one collective for the list). Throws
// CollectiveError on failure.
void AllReduceSum(c10d::ProcessGroup& group, std::vector<torch::Tensor>& tensors);

// An embedding table whose gradient GradientAverager reduces row-sparse (see below).
struct RowSparseParam {
  torch::Tensor param;
  std::int64_t max_rows = 0;  // the most rows of `param` one step's gradient can touch
};

// Averages the gradients of `params` over the ranks with one allreduce per bucket: the
// gradients are packed into a few contiguous buffers of at most `bucket_bytes` (a parameter
// larger than that gets a bucket of its own), all buckets are reduced concurrently, then
// unpacked and divided by the world size. Buffers are allocated once.
//
// Parameters listed in `row_sparse` (embedding tables, [rows, dim], each with the most rows
// one batch can touch) take another path, one collective a step: a batch touches few of their
// rows, so each rank packs the ids and gradients of the rows it touched, with every other
// (small) gradient, into one buffer; one allgather gives every rank all the buffers, and each
// rank sums them in rank order. Rows nobody touched are zero on every rank, so the result is
// the average a dense allreduce computes, for a fraction of the traffic and one round trip.
class GradientAverager {
 public:
  GradientAverager(c10::intrusive_ptr<c10d::ProcessGroup> group, std::vector<torch::Tensor> params,
                   const std::vector<RowSparseParam>& row_sparse = {},
                   std::size_t bucket_bytes = 16u << 20);
  // Call after backward(), before the optimizer step. Throws CollectiveError.
  void Average();
  std::size_t num_buckets() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<std::size_t> params;    // indexes into params_
    std::vector<std::int64_t> offsets;  // element offset of each param in `flat`
    torch::Tensor flat;
  };
  struct Sparse {
    std::size_t param;  // index into params_
    std::int64_t max_rows;
    std::int64_t offset = 0;  // where its count, ids and rows start in `packed_`
  };
  void AverageDense();
  void AverageRowSparse();

  c10::intrusive_ptr<c10d::ProcessGroup> group_;
  std::vector<torch::Tensor> params_;
  std::vector<Bucket> buckets_;
  std::vector<Sparse> sparse_;
  std::vector<std::size_t> dense_;  // with row-sparse parameters: the others, in order
  // With row-sparse parameters: this rank's packed buffer, where the other gradients start in
  // it, and the buffers the allgather fills, one per rank.
  torch::Tensor packed_;
  std::int64_t dense_offset_ = 0;
  std::vector<std::vector<torch::Tensor>> gathered_;
};

}  // namespace reel::trainer
