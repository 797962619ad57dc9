// Offline ranking metrics for recommenders: recall@K, NDCG@K and catalog coverage@K.
//
// Items are integer ids (positions in the caller's item dictionary). A ranking lists item ids
// best first; only its first K entries count. Relevance is binary: an item is relevant when
// it is among the user's held-out items. All functions are pure and thread-safe.
//
//   recall@K   = |top-K ∩ relevant| / |relevant|
//   DCG@K      = Σ_{i < K, ranked[i] relevant} 1 / log2(i + 2)       (i is the 0-based rank)
//   NDCG@K     = DCG@K / IDCG@K, IDCG@K = Σ_{i < min(K, |relevant|)} 1 / log2(i + 2)
//   coverage@K = |∪ over users of top-K| / catalog size
//
// A user with no relevant items has recall and NDCG 0 (callers leave such users out).
// RankingSummary averages recall and NDCG over the users added (the mean of per-user values).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_set>
#include <vector>

namespace reel {

using ItemId = std::int32_t;

// `relevant` must be sorted and free of duplicates.
double RecallAtK(std::span<const ItemId> ranked, std::span<const ItemId> relevant, std::size_t k);
double NdcgAtK(std::span<const ItemId> ranked, std::span<const ItemId> relevant, std::size_t k);
// Distinct items among the first `k` of every ranking, divided by `catalog_size` (0 when the
// catalog is empty).
double CoverageAtK(const std::vector<std::vector<ItemId>>& rankings, std::size_t catalog_size,
                   std::size_t k);

struct RankingMetrics {
  double recall = 0;
  double ndcg = 0;
  double coverage = 0;
  std::size_t users = 0;
};

// Accumulates per-user results for one ranker. Not thread-safe: fill it from one thread (or
// one per thread and Merge them in a fixed order, which keeps the sums deterministic).
class RankingSummary {
 public:
  RankingSummary(std::size_t k, std::size_t catalog_size) : k_(k), catalog_size_(catalog_size) {}

  // Adds one user's ranking (best first) and sorted, unique relevant items.
  void Add(std::span<const ItemId> ranked, std::span<const ItemId> relevant);
  void Merge(const RankingSummary& other);
  RankingMetrics Finish() const;

 private:
  std::size_t k_;
  std::size_t catalog_size_;
  double recall_sum_ = 0;
  double ndcg_sum_ = 0;
  std::size_t users_ = 0;
  std::unordered_set<ItemId> recommended_;
};

}  // namespace reel
