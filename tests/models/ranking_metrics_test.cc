#include "models/ranking_metrics.h"

#include <cmath>

#include <doctest/doctest.h>

namespace reel {
namespace {

TEST_CASE("ranking metrics: recall@K counts hits in the first K over all relevant items") {
  std::vector<ItemId> ranked = {5, 3, 9, 1, 7};
  std::vector<ItemId> relevant = {1, 3, 8};  // sorted
  CHECK(RecallAtK(ranked, relevant, 1) == doctest::Approx(0.0));
  CHECK(RecallAtK(ranked, relevant, 2) == doctest::Approx(1.0 / 3));
  CHECK(RecallAtK(ranked, relevant, 4) == doctest::Approx(2.0 / 3));
  CHECK(RecallAtK(ranked, relevant, 100) == doctest::Approx(2.0 / 3));  // K past the end
  CHECK(RecallAtK(ranked, {}, 5) == 0.0);
  CHECK(RecallAtK({}, relevant, 5) == 0.0);
}

TEST_CASE("ranking metrics: NDCG@K against hand-computed values") {
  std::vector<ItemId> relevant = {2, 4};
  // Hits at ranks 0 and 2: DCG = 1 + 1/log2(4) = 1.5; IDCG(K=3, 2 relevant) = 1 + 1/log2(3).
  std::vector<ItemId> ranked = {2, 7, 4, 9};
  double idcg = 1.0 + 1.0 / std::log2(3.0);
  CHECK(NdcgAtK(ranked, relevant, 3) == doctest::Approx(1.5 / idcg));
  // K = 2: only the first hit counts; IDCG is still over min(K, 2) = 2 positions.
  CHECK(NdcgAtK(ranked, relevant, 2) == doctest::Approx(1.0 / idcg));
  // K = 1: a hit at the top is perfect.
  CHECK(NdcgAtK(ranked, relevant, 1) == doctest::Approx(1.0));
  // A perfect ranking scores 1, a miss 0.
  CHECK(NdcgAtK(std::vector<ItemId>{4, 2, 1}, relevant, 3) == doctest::Approx(1.0));
  CHECK(NdcgAtK(std::vector<ItemId>{1, 3}, relevant, 2) == 0.0);
  // One relevant item at rank 1 (0-based): 1/log2(3).
  CHECK(NdcgAtK(std::vector<ItemId>{0, 6}, std::vector<ItemId>{6}, 10) ==
        doctest::Approx(1.0 / std::log2(3.0)));
}

TEST_CASE("ranking metrics: coverage counts distinct items among every top-K") {
  std::vector<std::vector<ItemId>> lists = {{1, 2, 3}, {2, 1, 4}, {5}};
  CHECK(CoverageAtK(lists, 10, 2) == doctest::Approx(3.0 / 10));  // {1,2,5}
  CHECK(CoverageAtK(lists, 10, 3) == doctest::Approx(5.0 / 10));  // {1,2,3,4,5}
  CHECK(CoverageAtK(lists, 0, 3) == 0.0);
}

TEST_CASE("ranking metrics: the summary averages users and unions recommendations") {
  RankingSummary a(2, 8), b(2, 8);
  std::vector<ItemId> rel1 = {1};
  std::vector<ItemId> rel2 = {3, 6};
  a.Add(std::vector<ItemId>{1, 2}, rel1);  // recall 1, ndcg 1
  b.Add(std::vector<ItemId>{4, 6}, rel2);  // recall 1/2, ndcg (1/log2 3)/(1 + 1/log2 3)
  a.Merge(b);
  RankingMetrics m = a.Finish();
  CHECK(m.users == 2);
  CHECK(m.recall == doctest::Approx((1.0 + 0.5) / 2));
  double n2 = (1.0 / std::log2(3.0)) / (1.0 + 1.0 / std::log2(3.0));
  CHECK(m.ndcg == doctest::Approx((1.0 + n2) / 2));
  CHECK(m.coverage == doctest::Approx(4.0 / 8));  // {1,2,4,6}
  CHECK(RankingSummary(10, 5).Finish().recall == 0.0);
}

}  // namespace
}  // namespace reel
