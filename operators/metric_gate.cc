#include "operators/metric_gate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace reel {
namespace {

constexpr const char* kRuleKeys[] = {"metric", "floor", "min_improvement_over_production",
                                     "min_improvement_over_baseline"};

std::string KeysOf(const Json& object) {
  std::string out;
  for (const auto& [key, value] : object.items()) {
    if (!value.is_number()) continue;
    out += (out.empty() ? "" : ", ") + key;
  }
  return out.empty() ? "none" : out;
}

// The evaluation must look like evaluate's outputs: candidate and baseline objects, production
// an object or null.
Status CheckEvaluation(const Json& evaluation) {
  const char* hint =
      "; pass an evaluate step's outputs: evaluation: \"{{ steps.evaluate.outputs }}\"";
  if (!evaluation.is_object()) {
    return Status::InvalidArgument(
        fmt::format("metric_gate: `evaluation` must be a map, got {}{}", evaluation.dump(), hint));
  }
  for (const char* key : {"candidate", "baseline"}) {
    auto it = evaluation.find(key);
    if (it == evaluation.end() || !it->is_object()) {
      return Status::InvalidArgument(
          fmt::format("metric_gate: `evaluation` has no `{}` map{}", key, hint));
    }
  }
  auto prod = evaluation.find("production");
  if (prod != evaluation.end() && !prod->is_null() && !prod->is_object()) {
    return Status::InvalidArgument("metric_gate: `evaluation.production` must be a map or null" +
                                   std::string(hint));
  }
  return Status::Ok();
}

Result<double> RuleNumber(const Json& rule, const char* key, std::size_t index) {
  const Json& v = rule[key];
  if (!v.is_number()) {
    return Status::InvalidArgument(
        fmt::format("metric_gate: rules[{}].{} must be a number, got {}", index, key, v.dump()));
  }
  return v.get<double>();
}

std::string Percent(double relative) {
  if (std::isinf(relative)) return relative > 0 ? "+inf%" : "-inf%";
  return fmt::format("{:+.1f}%", relative * 100.0);
}

double Relative(double candidate, double reference) {
  if (reference == 0) {
    return candidate > 0   ? std::numeric_limits<double>::infinity()
           : candidate < 0 ? -std::numeric_limits<double>::infinity()
                           : 0.0;
  }
  return (candidate - reference) / std::fabs(reference);
}

struct Check {
  Json json;
  std::string line;
  bool ok = false;
};

Check Compare(const std::string& metric, double candidate, const char* against,
              const Json& reference_set, double need) {
  Check c;
  auto it = reference_set.find(metric);
  if (it == reference_set.end() || !it->is_number()) {
    c.line = fmt::format("{} {:.4f} vs {}: {} has no {}: blocked", metric, candidate, against,
                         against, metric);
    c.json = {{"metric", metric},
              {"check", std::string("over_") + against},
              {"candidate", candidate},
              {"reference", nullptr},
              {"passed", false}};
    return c;
  }
  double reference = it->get<double>();
  double relative = Relative(candidate, reference);
  c.ok = relative >= need;
  c.line = fmt::format("{} {:.4f} vs {} {:.4f} ({}, need {}): {}", metric, candidate, against,
                       reference, Percent(relative), Percent(need), c.ok ? "ok" : "blocked");
  c.json = {{"metric", metric},
            {"check", std::string("over_") + against},
            {"candidate", candidate},
            {"reference", reference},
            {"improvement", std::isinf(relative) ? Json(nullptr) : Json(relative)},
            {"need", need},
            {"passed", c.ok}};
  return c;
}

}  // namespace

OperatorInfo MetricGateOperator::Info() {
  OperatorInfo info;
  info.name = "metric_gate";
  info.description =
      "Passes when a candidate model's evaluation meets every rule: a floor, and relative "
      "improvements over the production model and the popularity baseline.";
  info.config = {
      {"evaluation", ConfigType::kMap, true, nullptr,
       "an evaluate step's outputs: \"{{ steps.evaluate.outputs }}\""},
      {"rules", ConfigType::kList, true, nullptr,
       "[{metric, floor, min_improvement_over_production, min_improvement_over_baseline}]"},
      {"fail_on_block", ConfigType::kBool, false, false,
       "fail the step when the gate blocks (default: succeed with passed=false)"},
  };
  info.example =
      "gate:\n  operator: metric_gate\n  needs: [evaluate]\n  with:\n"
      "    evaluation: \"{{ steps.evaluate.outputs }}\"\n    rules:\n"
      "      - {metric: recall_at_10, min_improvement_over_production: 0.0,\n"
      "         min_improvement_over_baseline: 0.05, floor: 0.01}\n";
  info.declares_outputs = true;
  info.outputs = {
      {.name = "passed", .type = ConfigType::kBool, .description = "every check passed"},
      {.name = "reason", .type = ConfigType::kString, .description = "why it passed or failed"},
      {.name = "checks", .type = ConfigType::kList, .description = "the result of each check"},
  };
  return info;
}

Status MetricGateOperator::Execute(Context& ctx) {
  const Json& config = ctx.config();
  const Json evaluation = config.value("evaluation", Json());
  REEL_RETURN_IF_ERROR(CheckEvaluation(evaluation));
  const Json rules = config.value("rules", Json());
  if (!rules.is_array() || rules.empty()) {
    return Status::InvalidArgument(
        "metric_gate: `rules` must be a non-empty list, e.g. "
        "[{metric: recall_at_10, min_improvement_over_baseline: 0.05}]");
  }
  const Json& candidate = evaluation["candidate"];
  const Json& baseline = evaluation["baseline"];
  const Json production = evaluation.value("production", Json());

  std::vector<Check> checks;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const Json& rule = rules[i];
    if (!rule.is_object() || !rule.contains("metric") || !rule["metric"].is_string()) {
      return Status::InvalidArgument(fmt::format(
          "metric_gate: rules[{}] must be a map with a `metric` name, got {}", i, rule.dump()));
    }
    for (const auto& [key, value] : rule.items()) {
      if (std::find(std::begin(kRuleKeys), std::end(kRuleKeys), key) == std::end(kRuleKeys)) {
        return Status::InvalidArgument(
            fmt::format("metric_gate: rules[{}] has an unknown key `{}` (known: metric, floor, "
                        "min_improvement_over_production, min_improvement_over_baseline)",
                        i, key));
      }
    }
    std::string metric = rule["metric"].get<std::string>();
    auto value = candidate.find(metric);
    if (value == candidate.end() || !value->is_number()) {
      return Status::InvalidArgument(
          fmt::format("metric_gate: rules[{}]: the candidate has no metric `{}` (it has: {})", i,
                      metric, KeysOf(candidate)));
    }
    double cand = value->get<double>();
    bool any = false;
    if (rule.contains("floor")) {
      REEL_ASSIGN_OR_RETURN(auto floor, RuleNumber(rule, "floor", i));
      Check c;
      c.ok = cand >= floor;
      c.line = fmt::format("{} {:.4f} vs floor {:.4f}: {}", metric, cand, floor,
                           c.ok ? "ok" : "blocked");
      c.json = {{"metric", metric},
                {"check", "floor"},
                {"candidate", cand},
                {"reference", floor},
                {"passed", c.ok}};
      checks.push_back(std::move(c));
      any = true;
    }
    if (rule.contains("min_improvement_over_production")) {
      REEL_ASSIGN_OR_RETURN(auto need, RuleNumber(rule, "min_improvement_over_production", i));
      if (production.is_null()) {
        Check c;
        c.ok = true;
        c.line = fmt::format("{} {:.4f} vs production: no production model yet: ok", metric, cand);
        c.json = {{"metric", metric},
                  {"check", "over_production"},
                  {"candidate", cand},
                  {"reference", nullptr},
                  {"need", need},
                  {"passed", true},
                  {"note", "no production model yet"}};
        checks.push_back(std::move(c));
      } else {
        checks.push_back(Compare(metric, cand, "production", production, need));
      }
      any = true;
    }
    if (rule.contains("min_improvement_over_baseline")) {
      REEL_ASSIGN_OR_RETURN(auto need, RuleNumber(rule, "min_improvement_over_baseline", i));
      checks.push_back(Compare(metric, cand, "baseline", baseline, need));
      any = true;
    }
    if (!any) {
      return Status::InvalidArgument(
          fmt::format("metric_gate: rules[{}] ({}) checks nothing: give floor, "
                      "min_improvement_over_production or min_improvement_over_baseline",
                      i, metric));
    }
  }

  bool passed = true;
  std::string reason;
  Json check_json = Json::array();
  for (const auto& c : checks) {
    passed = passed && c.ok;
    reason += (reason.empty() ? "" : "\n") + c.line;
    check_json.push_back(c.json);
    ctx.Info("{}", c.line);
  }
  ctx.Info("gate {}", passed ? "passed" : "blocked");
  ctx.SetOutput("passed", passed);
  ctx.SetOutput("reason", reason);
  ctx.SetOutput("checks", check_json);
  ctx.RecordEvent("gate.decision", {{"passed", passed},
                                    {"rules", rules},
                                    {"checks", check_json},
                                    {"reason", reason},
                                    {"model_name", evaluation.value("model_name", Json())}});
  auto fail_it = config.find("fail_on_block");
  bool fail_on_block = fail_it != config.end() && fail_it->is_boolean() && fail_it->get<bool>();
  if (!passed && fail_on_block) {
    return Status::Failed("metric_gate: blocked (fail_on_block is set):\n" + reason);
  }
  return Status::Ok();
}

}  // namespace reel
