#include "operators/metric_gate.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "models/bootstrap.h"
#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::FakeContext;
using reel::testing::TempDir;

namespace {

Json Evaluation(double candidate, Json production, double baseline) {
  Json e = {{"candidate", {{"recall_at_10", candidate}, {"ndcg_at_10", 0.1}}},
            {"baseline", {{"recall_at_10", baseline}, {"ndcg_at_10", 0.05}}},
            {"k", 10},
            {"users", 100}};
  e["production"] = production.is_null()
                        ? Json(nullptr)
                        : Json({{"recall_at_10", production}, {"ndcg_at_10", 0.1}});
  return e;
}

Json Rules() {
  return Json::parse(R"([{"metric": "recall_at_10", "min_improvement_over_production": 0.0,
                          "min_improvement_over_baseline": 0.05, "floor": 0.01}])");
}

bool Contains(const std::string& haystack, const std::string& needle) {
  bool found = haystack.find(needle) != std::string::npos;
  if (!found) MESSAGE("not found: '" << needle << "' in:\n" << haystack);
  return found;
}

}  // namespace

TEST_CASE("metric_gate passes a candidate that beats production and the baseline") {
  TempDir dir;
  FakeContext ctx(dir.path());
  ctx.config_ = {{"evaluation", Evaluation(0.1834, 0.1710, 0.12)}, {"rules", Rules()}};
  Status s = MetricGateOperator().Execute(ctx);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  CHECK(ctx.outputs["passed"] == true);
  std::string reason = ctx.outputs["reason"].get<std::string>();
  CHECK(Contains(reason, "recall_at_10 0.1834 vs production 0.1710 (+7.3%, need +0.0%): ok"));
  CHECK(Contains(reason, "recall_at_10 0.1834 vs baseline 0.1200 (+52.8%, need +5.0%): ok"));
  CHECK(Contains(reason, "recall_at_10 0.1834 vs floor 0.0100: ok"));
  REQUIRE(ctx.events.size() == 1);
  CHECK(ctx.events[0].first == "gate.decision");
  CHECK(ctx.events[0].second["passed"] == true);
  CHECK(ctx.events[0].second["checks"].size() == 3);
  CHECK(ctx.events[0].second["rules"] == Rules());
}

TEST_CASE("metric_gate blocks a worse candidate without failing the step") {
  TempDir dir;
  FakeContext ctx(dir.path());
  ctx.config_ = {{"evaluation", Evaluation(0.1600, 0.1710, 0.12)}, {"rules", Rules()}};
  REQUIRE(MetricGateOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["passed"] == false);
  std::string reason = ctx.outputs["reason"].get<std::string>();
  CHECK(Contains(reason, "recall_at_10 0.1600 vs production 0.1710 (-6.4%, need +0.0%): blocked"));
  CHECK(Contains(reason, "vs baseline 0.1200 (+33.3%, need +5.0%): ok"));
  CHECK(ctx.events.at(0).second["passed"] == false);

  // Beating production but not the baseline by enough also blocks.
  ctx.config_["evaluation"] = Evaluation(0.1250, 0.1000, 0.12);
  REQUIRE(MetricGateOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["passed"] == false);
  CHECK(Contains(ctx.outputs["reason"].get<std::string>(), "(+4.2%, need +5.0%): blocked"));

  // Below the floor.
  ctx.config_["evaluation"] = Evaluation(0.005, nullptr, 0.001);
  REQUIRE(MetricGateOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["passed"] == false);
  CHECK(Contains(ctx.outputs["reason"].get<std::string>(), "vs floor 0.0100: blocked"));

  // fail_on_block turns a block into a failed step, with the reason.
  ctx.config_["evaluation"] = Evaluation(0.1600, 0.1710, 0.12);
  ctx.config_["fail_on_block"] = true;
  Status s = MetricGateOperator().Execute(ctx);
  CHECK(s.code() == Status::Code::kFailed);
  CHECK(Contains(s.message(), "-6.4%"));
  CHECK(ctx.outputs["passed"] == false);
}

TEST_CASE("metric_gate passes the production rule when there is no production model") {
  TempDir dir;
  FakeContext ctx(dir.path());
  ctx.config_ = {{"evaluation", Evaluation(0.2, nullptr, 0.1)}, {"rules", Rules()}};
  REQUIRE(MetricGateOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["passed"] == true);
  CHECK(Contains(ctx.outputs["reason"].get<std::string>(), "no production model yet"));
  CHECK(ctx.outputs["reason"].get<std::string>().find('\n') != std::string::npos);

  // A zero baseline: any positive candidate is an infinite improvement.
  ctx.config_["evaluation"] = Evaluation(0.2, nullptr, 0.0);
  REQUIRE(MetricGateOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["passed"] == true);
  CHECK(Contains(ctx.outputs["reason"].get<std::string>(), "+inf%"));
}

TEST_CASE("metric_gate rejects a malformed evaluation or rule with a clear error") {
  TempDir dir;
  FakeContext ctx(dir.path());
  ctx.config_ = {{"evaluation", "sha256:abc"}, {"rules", Rules()}};
  Status s = MetricGateOperator().Execute(ctx);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(s.message(), "steps.evaluate.outputs"));

  ctx.config_["evaluation"] = Json{{"candidate", {{"recall_at_10", 0.1}}}};
  s = MetricGateOperator().Execute(ctx);
  CHECK(Contains(s.message(), "no `baseline` map"));

  ctx.config_["evaluation"] = Evaluation(0.2, 0.1, 0.1);
  ctx.config_["rules"] = Json::parse(R"([{"metric": "recal_at_10", "floor": 0.1}])");
  s = MetricGateOperator().Execute(ctx);
  CHECK(Contains(s.message(), "no metric `recal_at_10` (it has: ndcg_at_10, recall_at_10)"));

  ctx.config_["rules"] = Json::parse(R"([{"metric": "recall_at_10", "flor": 0.1}])");
  s = MetricGateOperator().Execute(ctx);
  CHECK(Contains(s.message(), "unknown key `flor`"));

  ctx.config_["rules"] = Json::parse(R"([{"metric": "recall_at_10"}])");
  s = MetricGateOperator().Execute(ctx);
  CHECK(Contains(s.message(), "checks nothing"));

  ctx.config_["rules"] = Json::array();
  CHECK(MetricGateOperator().Execute(ctx).code() == Status::Code::kInvalidArgument);
  CHECK(ctx.events.empty());
}

namespace {

// 40 warm and 10 cold users. recall_at_10, candidate - production: warm users 0 (16 of them)
// or +1 (24): +0.6, clearly better; cold users alternately -1 and +1: no evidence either way.
// Against the baseline (0 everywhere): warm +1 each, cold 0 or +1. ndcg_at_10: the candidate
// gets 0 and production 1 for every user, a clear regression.
struct PerUser {
  std::vector<std::string> segment;
  std::vector<double> cand, prod, base;
};

PerUser MakePerUser() {
  PerUser p;
  for (int i = 0; i < 40; ++i) {
    p.segment.push_back("warm");
    p.cand.push_back(1);
    p.prod.push_back(i < 16 ? 1 : 0);
    p.base.push_back(0);
  }
  for (int i = 0; i < 10; ++i) {
    p.segment.push_back("cold");
    p.cand.push_back(i % 2);
    p.prod.push_back(1 - i % 2);
    p.base.push_back(0);
  }
  return p;
}

std::vector<double> Differences(const PerUser& p, const std::vector<double>& other,
                                const std::string& segment) {
  std::vector<double> d;
  for (std::size_t i = 0; i < p.segment.size(); ++i) {
    if (segment == "all" || p.segment[i] == segment) d.push_back(p.cand[i] - other[i]);
  }
  return d;
}

double Mean(const std::vector<double>& v, const PerUser& p, const std::string& segment) {
  double sum = 0;
  int n = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (segment == "all" || p.segment[i] == segment) sum += v[i], ++n;
  }
  return sum / n;
}

Json ModelEntry(const PerUser& p, const std::vector<double>& recall, double ndcg) {
  auto metrics = [&](const std::string& segment) {
    return Json{{"recall_at_10", Mean(recall, p, segment)}, {"ndcg_at_10", ndcg}};
  };
  Json j = metrics("all");
  j["segments"] = {{"warm", metrics("warm")}, {"cold", metrics("cold")}};
  j["users"] = {{"all", 50}, {"warm", 40}, {"cold", 10}};
  return j;
}

// An evaluation as evaluate publishes it, with its per_user artifact stored in `ctx`.
Json SegmentedEvaluation(FakeContext& ctx, const reel::testing::TempDir& dir, bool production) {
  PerUser p = MakePerUser();
  std::string csv = "user_id,segment,candidate_recall_at_10,candidate_ndcg_at_10";
  if (production) csv += ",production_recall_at_10,production_ndcg_at_10";
  csv += ",baseline_recall_at_10,baseline_ndcg_at_10\n";
  for (std::size_t i = 0; i < p.segment.size(); ++i) {
    csv += fmt::format("u{},{},{},0", i, p.segment[i], p.cand[i]);
    if (production) csv += fmt::format(",{},1", p.prod[i]);
    csv += fmt::format(",{},0\n", p.base[i]);
  }
  reel::testing::WriteFile(dir / "per_user.csv", csv);
  auto ref = ctx.PutArtifact("per_user", dir / "per_user.csv");
  REQUIRE(ref.ok());
  Json e = {{"candidate", ModelEntry(p, p.cand, 0.0)},
            {"baseline", ModelEntry(p, p.base, 0.0)},
            {"production", production ? ModelEntry(p, p.prod, 1.0) : Json(nullptr)},
            {"k", 10},
            {"users", 50},
            {"per_user", ref->uri}};
  return e;
}

}  // namespace

TEST_CASE("metric_gate: a per-user paired bootstrap per segment decides on evidence") {
  TempDir dir;
  FakeContext ctx(dir.path());
  Json evaluation = SegmentedEvaluation(ctx, dir, true);
  ctx.config_ = {{"evaluation", evaluation}, {"rules", Json::parse(R"([
      {"metric": "recall_at_10", "segment": "warm",
       "require_significant_improvement_over_production": 0.0,
       "require_significant_improvement_over_baseline": 0.5},
      {"metric": "recall_at_10", "segment": "cold", "block_on_significant_regression": true}])")}};
  Status s = MetricGateOperator().Execute(ctx);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  CHECK(ctx.outputs["passed"] == true);

  // The intervals are those of the users' paired differences, with the default settings.
  PerUser p = MakePerUser();
  BootstrapSettings defaults{.resamples = 1000, .seed = 42, .confidence = 0.95};
  BootstrapInterval warm = PairedBootstrap(Differences(p, p.prod, "warm"), defaults);
  BootstrapInterval cold = PairedBootstrap(Differences(p, p.prod, "cold"), defaults);
  CHECK(warm.delta == doctest::Approx(0.6));
  CHECK(warm.low > 0.4);  // 24 of 40 users gain: clearly better
  CHECK(cold.delta == doctest::Approx(0.0));
  CHECK(cold.low < 0);  // alternating -1, +1: no evidence either way
  CHECK(cold.high > 0);
  const Json& intervals = ctx.outputs["intervals"];
  REQUIRE(intervals.size() == 3);
  CHECK(intervals[0] == Json({{"metric", "recall_at_10"},
                              {"segment", "warm"},
                              {"vs", "production"},
                              {"delta", warm.delta},
                              {"low", warm.low},
                              {"high", warm.high},
                              {"users", 40}}));
  CHECK(intervals[1]["vs"] == "baseline");
  CHECK(intervals[1]["delta"].get<double>() == doctest::Approx(1.0));
  CHECK(intervals[2]["segment"] == "cold");
  CHECK(intervals[2]["low"].get<double>() == cold.low);
  CHECK(intervals[2]["users"] == 10);

  std::string reason = ctx.outputs["reason"].get<std::string>();
  CHECK(Contains(reason, fmt::format("recall_at_10 warm: +0.6000 [{:+.4f}, {:+.4f}] vs production "
                                     "(need low > +0.0000): ok",
                                     warm.low, warm.high)));
  CHECK(Contains(reason,
                 "recall_at_10 warm: +1.0000 [+1.0000, +1.0000] vs baseline (need low > "
                 "+0.5000): ok"));
  CHECK(Contains(reason, fmt::format("recall_at_10 cold: +0.0000 [{:+.4f}, {:+.4f}] vs production "
                                     "(blocks when high < 0): ok",
                                     cold.low, cold.high)));
  REQUIRE(ctx.events.size() == 1);
  CHECK(ctx.events[0].second["intervals"] == intervals);
  CHECK(ctx.events[0].second["bootstrap"]["resamples"] == 1000);

  // No evidence of an improvement on cold users blocks a rule that requires one.
  ctx.config_["rules"] = Json::parse(R"([{"metric": "recall_at_10", "segment": "cold",
      "require_significant_improvement_over_production": 0.0}])");
  REQUIRE(MetricGateOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["passed"] == false);
  CHECK(Contains(ctx.outputs["reason"].get<std::string>(), "(need low > +0.0000): blocked"));

  // A significant regression blocks (ndcg: the candidate loses 1 on every user); so does a
  // margin the interval does not clear.
  ctx.config_["rules"] = Json::parse(R"([
      {"metric": "ndcg_at_10", "block_on_significant_regression": true},
      {"metric": "recall_at_10", "segment": "warm",
       "require_significant_improvement_over_production": 0.9}])");
  REQUIRE(MetricGateOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["passed"] == false);
  reason = ctx.outputs["reason"].get<std::string>();
  CHECK(Contains(reason,
                 "ndcg_at_10 all: -1.0000 [-1.0000, -1.0000] vs production (blocks when "
                 "high < 0): blocked"));
  CHECK(Contains(reason, "(need low > +0.9000): blocked"));
  CHECK(ctx.outputs["checks"][0]["check"] == "no_significant_regression");
  CHECK(ctx.outputs["checks"][0]["passed"] == false);
}

TEST_CASE("metric_gate: bootstrap settings are honoured and the result is reproducible") {
  TempDir dir;
  FakeContext ctx(dir.path());
  ctx.config_ = {{"evaluation", SegmentedEvaluation(ctx, dir, true)},
                 {"rules", Json::parse(R"([{"metric": "recall_at_10",
                    "require_significant_improvement_over_production": 0.0}])")},
                 {"bootstrap", {{"resamples", 200}, {"seed", 3}, {"confidence", 0.8}}}};
  REQUIRE(MetricGateOperator().Execute(ctx).ok());
  Json first = ctx.outputs["intervals"];
  PerUser p = MakePerUser();
  BootstrapInterval expected = PairedBootstrap(Differences(p, p.prod, "all"),
                                               {.resamples = 200, .seed = 3, .confidence = 0.8});
  CHECK(first[0]["segment"] == "all");
  CHECK(first[0]["low"].get<double>() == expected.low);
  CHECK(first[0]["high"].get<double>() == expected.high);
  REQUIRE(MetricGateOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["intervals"] == first);

  ctx.config_["bootstrap"] = {{"resample", 10}};
  Status s = MetricGateOperator().Execute(ctx);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(s.message(), "unknown key `resample`"));
  ctx.config_["bootstrap"] = {{"confidence", 95}};
  CHECK(Contains(MetricGateOperator().Execute(ctx).message(), "between 0 and 1"));
}

TEST_CASE("metric_gate: min_users refuses to decide on too few users") {
  TempDir dir;
  FakeContext ctx(dir.path());
  ctx.config_ = {{"evaluation", SegmentedEvaluation(ctx, dir, true)},
                 {"min_users", 30},
                 {"rules", Json::parse(R"([
      {"metric": "recall_at_10", "segment": "warm",
       "require_significant_improvement_over_production": 0.0},
      {"metric": "recall_at_10", "segment": "cold", "block_on_significant_regression": true,
       "floor": 0.1}])")}};
  REQUIRE(MetricGateOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["passed"] == false);
  std::string reason = ctx.outputs["reason"].get<std::string>();
  CHECK(Contains(reason,
                 "recall_at_10 cold: only 10 cold users evaluated; min_users is 30: "
                 "blocked"));
  CHECK(Contains(reason, "recall_at_10 warm: +0.6000"));  // 40 warm users: decided
  CHECK(reason.find("floor") == std::string::npos);       // the cold rule's checks are skipped
  const Json& refused = ctx.outputs["checks"][1];
  CHECK(refused["check"] == "min_users");
  CHECK(refused["users"] == 10);
  CHECK(refused["passed"] == false);

  // A rule's own min_users overrides the gate's.
  ctx.config_["rules"][1]["min_users"] = 10;
  REQUIRE(MetricGateOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["passed"] == true);
  CHECK(Contains(ctx.outputs["reason"].get<std::string>(), "recall_at_10 cold 0.5000 vs floor"));

  // The gate-level minimum applies to plain rules on all users too.
  ctx.config_["min_users"] = 100;
  ctx.config_["rules"] = Rules();
  REQUIRE(MetricGateOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["passed"] == false);
  CHECK(Contains(ctx.outputs["reason"].get<std::string>(),
                 "recall_at_10: only 50 users evaluated; min_users is 100: blocked"));

  // A segment without users never decides, even without min_users.
  Json evaluation = ctx.config_["evaluation"];
  evaluation["candidate"]["users"]["cold"] = 0;
  ctx.config_ = {{"evaluation", evaluation},
                 {"rules", Json::parse(R"([{"metric": "recall_at_10", "segment": "cold",
                                            "floor": 0.0}])")}};
  REQUIRE(MetricGateOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["passed"] == false);
  CHECK(ctx.outputs["reason"] == "recall_at_10 cold: no cold users evaluated: blocked");
}

TEST_CASE("metric_gate: segment rules use the segment's metrics") {
  TempDir dir;
  FakeContext ctx(dir.path());
  ctx.config_ = {{"evaluation", SegmentedEvaluation(ctx, dir, true)},
                 {"rules", Json::parse(R"([{"metric": "recall_at_10", "segment": "warm",
                    "floor": 0.9, "min_improvement_over_production": 0.5}])")}};
  REQUIRE(MetricGateOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["passed"] == true);
  std::string reason = ctx.outputs["reason"].get<std::string>();
  // warm: candidate 1.0, production 24/40 -> 16/40 = 0.4.
  CHECK(Contains(reason, "recall_at_10 warm 1.0000 vs floor 0.9000: ok"));
  CHECK(
      Contains(reason, "recall_at_10 warm 1.0000 vs production 0.4000 (+150.0%, need +50.0%): ok"));
  CHECK(ctx.outputs["checks"][0]["segment"] == "warm");
  CHECK(ctx.outputs["intervals"] == Json::array());
}

TEST_CASE("metric_gate: significance checks without production, and their errors") {
  TempDir dir;
  FakeContext ctx(dir.path());
  Json evaluation = SegmentedEvaluation(ctx, dir, false);
  ctx.config_ = {{"evaluation", evaluation}, {"rules", Json::parse(R"([{"metric": "recall_at_10",
                    "require_significant_improvement_over_production": 0.0,
                    "block_on_significant_regression": true}])")}};
  REQUIRE(MetricGateOperator().Execute(ctx).ok());
  CHECK(ctx.outputs["passed"] == true);
  CHECK(Contains(ctx.outputs["reason"].get<std::string>(),
                 "recall_at_10 all vs production: no production model yet: ok"));

  ctx.config_["rules"] = Json::parse(R"([{"metric": "recall_at_10", "segment": "sleepy",
                                          "floor": 0}])");
  CHECK(Contains(MetricGateOperator().Execute(ctx).message(), "must be all, warm or cold"));
  // Coverage is not a per-user metric: it cannot be resampled.
  ctx.config_["evaluation"]["candidate"]["coverage_at_10"] = 0.5;
  ctx.config_["rules"] = Json::parse(R"([{"metric": "coverage_at_10",
                    "require_significant_improvement_over_baseline": 0.0}])");
  Status s = MetricGateOperator().Execute(ctx);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(Contains(s.message(), "have only: recall_at_10, ndcg_at_10"));

  ctx.config_["evaluation"].erase("per_user");
  ctx.config_["rules"][0]["metric"] = "recall_at_10";
  s = MetricGateOperator().Execute(ctx);
  CHECK(Contains(s.message(), "`evaluation.per_user` is missing"));

  ctx.config_["rules"] = Json::parse(R"([{"metric": "recall_at_10",
                    "block_on_significant_regression": "yes"}])");
  CHECK(Contains(MetricGateOperator().Execute(ctx).message(), "must be true or false"));
  CHECK(ctx.events.size() == 1);
}
