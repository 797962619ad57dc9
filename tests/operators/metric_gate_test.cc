#include "operators/metric_gate.h"

#include <doctest/doctest.h>

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
