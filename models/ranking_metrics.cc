#include "models/ranking_metrics.h"

#include <algorithm>
#include <cmath>

namespace reel {
namespace {

bool IsRelevant(std::span<const ItemId> relevant, ItemId item) {
  return std::binary_search(relevant.begin(), relevant.end(), item);
}

std::span<const ItemId> Head(std::span<const ItemId> ranked, std::size_t k) {
  return ranked.first(std::min(k, ranked.size()));
}

}  // namespace

double RecallAtK(std::span<const ItemId> ranked, std::span<const ItemId> relevant, std::size_t k) {
  if (relevant.empty()) return 0;
  std::size_t hits = 0;
  for (ItemId item : Head(ranked, k)) hits += IsRelevant(relevant, item) ? 1 : 0;
  return static_cast<double>(hits) / static_cast<double>(relevant.size());
}

double NdcgAtK(std::span<const ItemId> ranked, std::span<const ItemId> relevant, std::size_t k) {
  if (relevant.empty() || k == 0) return 0;
  double dcg = 0;
  auto head = Head(ranked, k);
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (IsRelevant(relevant, head[i])) dcg += 1.0 / std::log2(static_cast<double>(i) + 2.0);
  }
  double ideal = 0;
  std::size_t n = std::min(k, relevant.size());
  for (std::size_t i = 0; i < n; ++i) ideal += 1.0 / std::log2(static_cast<double>(i) + 2.0);
  return dcg / ideal;
}

double CoverageAtK(const std::vector<std::vector<ItemId>>& rankings, std::size_t catalog_size,
                   std::size_t k) {
  if (catalog_size == 0) return 0;
  std::unordered_set<ItemId> seen;
  for (const auto& ranking : rankings) {
    for (ItemId item : Head(ranking, k)) seen.insert(item);
  }
  return static_cast<double>(seen.size()) / static_cast<double>(catalog_size);
}

void RankingSummary::Add(std::span<const ItemId> ranked, std::span<const ItemId> relevant) {
  recall_sum_ += RecallAtK(ranked, relevant, k_);
  ndcg_sum_ += NdcgAtK(ranked, relevant, k_);
  ++users_;
  for (ItemId item : Head(ranked, k_)) recommended_.insert(item);
}

void RankingSummary::Merge(const RankingSummary& other) {
  recall_sum_ += other.recall_sum_;
  ndcg_sum_ += other.ndcg_sum_;
  users_ += other.users_;
  recommended_.insert(other.recommended_.begin(), other.recommended_.end());
}

RankingMetrics RankingSummary::Finish() const {
  RankingMetrics m;
  m.users = users_;
  if (users_ > 0) {
    m.recall = recall_sum_ / static_cast<double>(users_);
    m.ndcg = ndcg_sum_ / static_cast<double>(users_);
  }
  if (catalog_size_ > 0) {
    m.coverage = static_cast<double>(recommended_.size()) / static_cast<double>(catalog_size_);
  }
  return m;
}

}  // namespace reel
