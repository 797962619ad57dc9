#include "operators/metric_gate.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "engine/base/csv.h"
#include "models/bootstrap.h"

namespace reel {
namespace {

constexpr const char* kRuleKeys[] = {"metric",
                                     "segment",
                                     "min_users",
                                     "floor",
                                     "min_improvement_over_production",
                                     "min_improvement_over_baseline",
                                     "require_significant_improvement_over_production",
                                     "require_significant_improvement_over_baseline",
                                     "block_on_significant_regression"};

constexpr const char* kSegments[] = {"all", "warm", "cold"};

std::string KnownRuleKeys() {
  std::string out;
  for (const char* key : kRuleKeys) out += (out.empty() ? "" : ", ") + std::string(key);
  return out;
}

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

// `label` is the metric, followed by the segment when it is not `all`.
Check Compare(const std::string& metric, const std::string& label, double candidate,
              const char* against, const Json& reference_set, double need) {
  Check c;
  auto it = reference_set.find(metric);
  if (it == reference_set.end() || !it->is_number()) {
    c.line = fmt::format("{} {:.4f} vs {}: {} has no {}: blocked", label, candidate, against,
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
  c.line = fmt::format("{} {:.4f} vs {} {:.4f} ({}, need {}): {}", label, candidate, against,
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

// The gate-level settings of the statistics.
struct GateSettings {
  BootstrapSettings bootstrap{.resamples = 1000, .seed = 42, .confidence = 0.95};
  std::optional<std::int64_t> min_users;
};

Result<std::int64_t> NonNegativeInt(const Json& v, const std::string& where) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
    return Status::InvalidArgument(
        fmt::format("metric_gate: {} must be a whole number >= 0, got {}", where, v.dump()));
  }
  return v.get<std::int64_t>();
}

Result<GateSettings> ReadGateSettings(const Json& config) {
  GateSettings settings;
  auto min_users = config.find("min_users");
  if (min_users != config.end() && !min_users->is_null()) {
    REEL_ASSIGN_OR_RETURN(settings.min_users, NonNegativeInt(*min_users, "`min_users`"));
  }
  auto bootstrap = config.find("bootstrap");
  if (bootstrap == config.end() || bootstrap->is_null()) return settings;
  if (!bootstrap->is_object()) {
    return Status::InvalidArgument(fmt::format(
        "metric_gate: `bootstrap` must be a map {{resamples, seed, confidence}}, got {}",
        bootstrap->dump()));
  }
  for (const auto& [key, value] : bootstrap->items()) {
    if (key == "resamples") {
      REEL_ASSIGN_OR_RETURN(auto n, NonNegativeInt(value, "`bootstrap.resamples`"));
      if (n < 1 || n > 100000) {
        return Status::InvalidArgument(fmt::format(
            "metric_gate: `bootstrap.resamples` must be between 1 and 100000, got {}", n));
      }
      settings.bootstrap.resamples = static_cast<int>(n);
    } else if (key == "seed") {
      REEL_ASSIGN_OR_RETURN(auto seed, NonNegativeInt(value, "`bootstrap.seed`"));
      settings.bootstrap.seed = static_cast<std::uint64_t>(seed);
    } else if (key == "confidence") {
      if (!value.is_number() || value.get<double>() <= 0 || value.get<double>() >= 1) {
        return Status::InvalidArgument(fmt::format(
            "metric_gate: `bootstrap.confidence` must be a number between 0 and 1 (e.g. 0.95), "
            "got {}",
            value.dump()));
      }
      settings.bootstrap.confidence = value.get<double>();
    } else {
      return Status::InvalidArgument(fmt::format(
          "metric_gate: `bootstrap` has an unknown key `{}` (known: resamples, seed, confidence)",
          key));
    }
  }
  return settings;
}

// Each user's metric values, read from the evaluation's `per_user` file (see evaluate): a
// segment and, per column `<model>_<metric>`, a value.
class PerUserValues {
 public:
  static Result<PerUserValues> Load(const Context& ctx, const Json& evaluation) {
    auto it = evaluation.find("per_user");
    if (it == evaluation.end() || !it->is_string() || it->get<std::string>().empty()) {
      return Status::InvalidArgument(
          "metric_gate: the significance checks resample each user's values, and "
          "`evaluation.per_user` is missing; pass the outputs of an evaluate step: evaluation: "
          "\"{{ steps.evaluate.outputs }}\"");
    }
    const std::string uri = it->get<std::string>();
    auto path = ctx.ArtifactPath(uri);
    std::error_code ec;
    if (!path.ok() && uri.find(':') == std::string::npos &&
        std::filesystem::is_regular_file(uri, ec)) {
      path = std::filesystem::path(uri);
    }
    if (!path.ok()) {
      return Status::NotFound(
          fmt::format("metric_gate: `evaluation.per_user` ({}): {}", uri, path.status().message()));
    }
    REEL_ASSIGN_OR_RETURN(std::unique_ptr<CsvReader> reader, CsvReader::Open(*path));
    PerUserValues v;
    CsvRecord rec;
    int segment_col = -1;
    if (reader->Next(rec)) {
      v.columns_.assign(rec.fields.begin(), rec.fields.end());
      for (std::size_t i = 0; i < v.columns_.size(); ++i) {
        if (v.columns_[i] == "segment") segment_col = static_cast<int>(i);
      }
    }
    if (segment_col < 0) {
      return Status::InvalidArgument(fmt::format(
          "metric_gate: `evaluation.per_user` ({}): the header names no `segment` column; it "
          "must be the per_user file of an evaluate step",
          path->string()));
    }
    v.values_.resize(v.columns_.size());
    while (reader->Next(rec)) {
      if (!rec.error.empty() || rec.fields.size() != v.columns_.size()) {
        return Status::InvalidArgument(fmt::format(
            "metric_gate: `evaluation.per_user` ({}:{}): {}", path->string(), rec.line,
            rec.error.empty() ? fmt::format("expected {} columns", v.columns_.size()) : rec.error));
      }
      v.segments_.emplace_back(rec.fields[static_cast<std::size_t>(segment_col)]);
      for (std::size_t i = 0; i < rec.fields.size(); ++i) {
        if (static_cast<int>(i) == segment_col) continue;
        std::string field(rec.fields[i]);
        char* end = nullptr;
        double x = std::strtod(field.c_str(), &end);
        v.values_[i].push_back(end && *end == '\0' && !field.empty() ? x : std::nan(""));
      }
    }
    REEL_RETURN_IF_ERROR(reader->status());
    return v;
  }

  // Each `segment` user's value of `metric` for the candidate minus `other`'s.
  Result<std::vector<double>> Differences(const std::string& metric, const std::string& segment,
                                          const std::string& other) const {
    REEL_ASSIGN_OR_RETURN(std::size_t cand, Column("candidate", metric));
    REEL_ASSIGN_OR_RETURN(std::size_t ref, Column(other, metric));
    std::vector<double> out;
    for (std::size_t u = 0; u < segments_.size(); ++u) {
      if (segment != "all" && segments_[u] != segment) continue;
      out.push_back(values_[cand][u] - values_[ref][u]);
    }
    return out;
  }

 private:
  Result<std::size_t> Column(const std::string& model, const std::string& metric) const {
    const std::string name = model + "_" + metric;
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      if (columns_[i] == name) return i;
    }
    std::string known;
    const std::string prefix = model + "_";
    for (const auto& c : columns_) {
      if (c.rfind(prefix, 0) == 0) known += (known.empty() ? "" : ", ") + c.substr(prefix.size());
    }
    return Status::InvalidArgument(
        fmt::format("metric_gate: the significance checks need each user's `{}` of the {}, and the "
                    "evaluation's per-user values have only: {}",
                    metric, model, known.empty() ? "none" : known));
  }

  std::vector<std::string> columns_;
  std::vector<std::string> segments_;
  std::vector<std::vector<double>> values_;  // per column, per user
};

// Bootstrap intervals, computed once per (metric, segment, reference).
class Intervals {
 public:
  Intervals(const Context& ctx, const Json& evaluation, const BootstrapSettings& settings)
      : ctx_(ctx), evaluation_(evaluation), settings_(settings) {}

  Result<BootstrapInterval> Get(const std::string& metric, const std::string& segment,
                                const std::string& vs) {
    auto key = std::make_tuple(metric, segment, vs);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    if (!values_) {
      REEL_ASSIGN_OR_RETURN(PerUserValues v, PerUserValues::Load(ctx_, evaluation_));
      values_ = std::move(v);
    }
    REEL_ASSIGN_OR_RETURN(std::vector<double> d, values_->Differences(metric, segment, vs));
    if (d.empty()) {
      return Status::InvalidArgument(
          fmt::format("metric_gate: the evaluation's per-user values have no {} users", segment));
    }
    BootstrapInterval interval = PairedBootstrap(d, settings_);
    cache_.emplace(key, interval);
    json_.push_back({{"metric", metric},
                     {"segment", segment},
                     {"vs", vs},
                     {"delta", interval.delta},
                     {"low", interval.low},
                     {"high", interval.high},
                     {"users", d.size()}});
    return interval;
  }

  const Json& json() const { return json_; }

 private:
  const Context& ctx_;
  const Json& evaluation_;
  BootstrapSettings settings_;
  std::optional<PerUserValues> values_;
  std::map<std::tuple<std::string, std::string, std::string>, BootstrapInterval> cache_;
  Json json_ = Json::array();
};

// The metrics of `model` (an evaluation entry) for `segment`: the top-level keys for `all`.
Result<Json> SegmentOf(const Json& model, const std::string& who, const std::string& segment) {
  if (segment == "all" || model.is_null()) return model;
  auto segments = model.find("segments");
  if (segments == model.end() || !segments->is_object() || !segments->contains(segment)) {
    return Status::InvalidArgument(fmt::format(
        "metric_gate: `evaluation.{}` has no `segments.{}`; pass the outputs of an evaluate "
        "step that reports segments",
        who, segment));
  }
  return (*segments)[segment];
}

// How many users of `segment` were evaluated, if the evaluation says.
std::optional<std::int64_t> UsersIn(const Json& evaluation, const std::string& segment) {
  const Json& users = evaluation["candidate"].value("users", Json());
  if (users.is_object() && users.contains(segment) && users[segment].is_number_integer()) {
    return users[segment].get<std::int64_t>();
  }
  if (segment == "all" && evaluation.contains("users") && evaluation["users"].is_number_integer()) {
    return evaluation["users"].get<std::int64_t>();
  }
  return std::nullopt;
}

std::string Signed(double x) { return fmt::format("{:+.4f}", x); }

Check IntervalCheck(const std::string& metric, const std::string& segment, const std::string& vs,
                    const BootstrapInterval& i, bool regression, double margin) {
  Check c;
  c.ok = regression ? !(i.high < 0) : i.low > margin;
  std::string need = regression ? std::string("blocks when high < 0")
                                : fmt::format("need low > {}", Signed(margin));
  c.line = fmt::format("{} {}: {} [{}, {}] vs {} ({}): {}", metric, segment, Signed(i.delta),
                       Signed(i.low), Signed(i.high), vs, need, c.ok ? "ok" : "blocked");
  c.json = {{"metric", metric},
            {"segment", segment},
            {"check", regression ? "no_significant_regression" : "significant_over_" + vs},
            {"delta", i.delta},
            {"low", i.low},
            {"high", i.high},
            {"passed", c.ok}};
  if (!regression) c.json["need"] = margin;
  return c;
}

Check NoProduction(const std::string& metric, const std::string& segment, const char* check) {
  Check c;
  c.ok = true;
  c.line = fmt::format("{} {} vs production: no production model yet: ok", metric, segment);
  c.json = {{"metric", metric},
            {"segment", segment},
            {"check", check},
            {"passed", true},
            {"note", "no production model yet"}};
  return c;
}

}  // namespace

OperatorInfo MetricGateOperator::Info() {
  OperatorInfo info;
  info.name = "metric_gate";
  info.description =
      "Passes when a candidate model's evaluation meets every rule: a floor, relative "
      "improvements over the production model and the popularity baseline, and per-user "
      "bootstrap intervals, for all, warm or cold users.";
  info.config = {
      {"evaluation", ConfigType::kMap, true, nullptr,
       "an evaluate step's outputs: \"{{ steps.evaluate.outputs }}\""},
      {"rules", ConfigType::kList, true, nullptr,
       "[{metric, segment, min_users, floor, min_improvement_over_production, "
       "min_improvement_over_baseline, require_significant_improvement_over_production, "
       "require_significant_improvement_over_baseline, block_on_significant_regression}]"},
      {"bootstrap", ConfigType::kMap, false, nullptr,
       "{resamples: 1000, seed: 42, confidence: 0.95}: the paired bootstrap of the "
       "significance checks"},
      {"min_users", ConfigType::kInt, false, nullptr,
       "refuse to decide (block) a rule whose segment has fewer evaluated users; a rule's own "
       "min_users overrides it"},
      {"fail_on_block", ConfigType::kBool, false, false,
       "fail the step when the gate blocks (default: succeed with passed=false)"},
  };
  info.example =
      "gate:\n  operator: metric_gate\n  needs: [evaluate]\n  with:\n"
      "    evaluation: \"{{ steps.evaluate.outputs }}\"\n    rules:\n"
      "      - {metric: recall_at_10, min_improvement_over_production: 0.0,\n"
      "         min_improvement_over_baseline: 0.05, floor: 0.01}\n"
      "      - {metric: ndcg_at_10, segment: warm, min_users: 30,\n"
      "         block_on_significant_regression: true}\n";
  info.declares_outputs = true;
  info.outputs = {
      {.name = "passed", .type = ConfigType::kBool, .description = "every check passed"},
      {.name = "reason", .type = ConfigType::kString, .description = "why it passed or failed"},
      {.name = "checks", .type = ConfigType::kList, .description = "the result of each check"},
      {.name = "intervals",
       .type = ConfigType::kList,
       .description = "bootstrap intervals of candidate - other: [{metric, segment, vs, delta, "
                      "low, high, users}]"},
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
  REEL_ASSIGN_OR_RETURN(GateSettings settings, ReadGateSettings(config));
  const Json& candidate_all = evaluation["candidate"];
  const Json& baseline_all = evaluation["baseline"];
  const Json production_all = evaluation.value("production", Json());
  Intervals intervals(ctx, evaluation, settings.bootstrap);

  std::vector<Check> checks;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const Json& rule = rules[i];
    if (!rule.is_object() || !rule.contains("metric") || !rule["metric"].is_string()) {
      return Status::InvalidArgument(fmt::format(
          "metric_gate: rules[{}] must be a map with a `metric` name, got {}", i, rule.dump()));
    }
    for (const auto& [key, value] : rule.items()) {
      if (std::find(std::begin(kRuleKeys), std::end(kRuleKeys), key) == std::end(kRuleKeys)) {
        return Status::InvalidArgument(fmt::format(
            "metric_gate: rules[{}] has an unknown key `{}` (known: {})", i, key, KnownRuleKeys()));
      }
    }
    std::string metric = rule["metric"].get<std::string>();
    std::string segment = "all";
    if (rule.contains("segment")) {
      const Json& seg = rule["segment"];
      if (!seg.is_string() || std::find(std::begin(kSegments), std::end(kSegments),
                                        seg.get<std::string>()) == std::end(kSegments)) {
        return Status::InvalidArgument(fmt::format(
            "metric_gate: rules[{}].segment must be all, warm or cold, got {}", i, seg.dump()));
      }
      segment = seg.get<std::string>();
    }
    std::optional<std::int64_t> min_users = settings.min_users;
    if (rule.contains("min_users")) {
      REEL_ASSIGN_OR_RETURN(
          min_users, NonNegativeInt(rule["min_users"], fmt::format("rules[{}].min_users", i)));
    }
    std::optional<double> floor, over_production, over_baseline, sig_production, sig_baseline;
    auto number = [&](const char* key, std::optional<double>& out) -> Status {
      if (!rule.contains(key)) return Status::Ok();
      REEL_ASSIGN_OR_RETURN(out, RuleNumber(rule, key, i));
      return Status::Ok();
    };
    REEL_RETURN_IF_ERROR(number("floor", floor));
    REEL_RETURN_IF_ERROR(number("min_improvement_over_production", over_production));
    REEL_RETURN_IF_ERROR(number("min_improvement_over_baseline", over_baseline));
    REEL_RETURN_IF_ERROR(number("require_significant_improvement_over_production", sig_production));
    REEL_RETURN_IF_ERROR(number("require_significant_improvement_over_baseline", sig_baseline));
    bool block_on_regression = false;
    if (rule.contains("block_on_significant_regression")) {
      const Json& v = rule["block_on_significant_regression"];
      if (!v.is_boolean()) {
        return Status::InvalidArgument(fmt::format(
            "metric_gate: rules[{}].block_on_significant_regression must be true or false, got {}",
            i, v.dump()));
      }
      block_on_regression = v.get<bool>();
    }
    if (!floor && !over_production && !over_baseline && !sig_production && !sig_baseline &&
        !block_on_regression) {
      return Status::InvalidArgument(fmt::format(
          "metric_gate: rules[{}] ({}) checks nothing: give floor, "
          "min_improvement_over_production, min_improvement_over_baseline, "
          "require_significant_improvement_over_production, "
          "require_significant_improvement_over_baseline or block_on_significant_regression",
          i, metric));
    }

    REEL_ASSIGN_OR_RETURN(Json candidate, SegmentOf(candidate_all, "candidate", segment));
    auto value = candidate.find(metric);
    if (value == candidate.end() || !value->is_number()) {
      return Status::InvalidArgument(
          fmt::format("metric_gate: rules[{}]: the candidate has no metric `{}` (it has: {})", i,
                      metric, KeysOf(candidate)));
    }
    const double cand = value->get<double>();
    const std::string label = segment == "all" ? metric : metric + " " + segment;

    // Too few users to decide: one blocking check says so, and the rule's checks are skipped.
    std::optional<std::int64_t> users = UsersIn(evaluation, segment);
    if (min_users || segment != "all") {
      if (!users) {
        return Status::InvalidArgument(fmt::format(
            "metric_gate: rules[{}]: the evaluation does not say how many {} users it evaluated "
            "(`evaluation.candidate.users.{}`); pass the outputs of an evaluate step",
            i, segment, segment));
      }
      const std::int64_t need = min_users ? std::max<std::int64_t>(*min_users, 1) : 1;
      if (*users < need) {
        std::string who = segment == "all" ? "users" : segment + " users";
        Check c;
        c.line = *users > 0 ? fmt::format("{}: only {} {} evaluated; min_users is {}: blocked",
                                          label, *users, who, *min_users)
                            : fmt::format("{}: no {} evaluated: blocked", label, who);
        c.json = {{"metric", metric},
                  {"segment", segment},
                  {"check", "min_users"},
                  {"users", *users},
                  {"min_users", min_users ? Json(*min_users) : Json(nullptr)},
                  {"passed", false}};
        checks.push_back(std::move(c));
        continue;
      }
    }
    auto tag = [&](Check c) {
      if (segment != "all") c.json["segment"] = segment;
      return c;
    };

    if (floor) {
      Check c;
      c.ok = cand >= *floor;
      c.line = fmt::format("{} {:.4f} vs floor {:.4f}: {}", label, cand, *floor,
                           c.ok ? "ok" : "blocked");
      c.json = {{"metric", metric},
                {"check", "floor"},
                {"candidate", cand},
                {"reference", *floor},
                {"passed", c.ok}};
      checks.push_back(tag(std::move(c)));
    }
    if (over_production) {
      if (production_all.is_null()) {
        Check c;
        c.ok = true;
        c.line = fmt::format("{} {:.4f} vs production: no production model yet: ok", label, cand);
        c.json = {{"metric", metric},
                  {"check", "over_production"},
                  {"candidate", cand},
                  {"reference", nullptr},
                  {"need", *over_production},
                  {"passed", true},
                  {"note", "no production model yet"}};
        checks.push_back(tag(std::move(c)));
      } else {
        REEL_ASSIGN_OR_RETURN(Json production, SegmentOf(production_all, "production", segment));
        checks.push_back(
            tag(Compare(metric, label, cand, "production", production, *over_production)));
      }
    }
    if (over_baseline) {
      REEL_ASSIGN_OR_RETURN(Json baseline, SegmentOf(baseline_all, "baseline", segment));
      checks.push_back(tag(Compare(metric, label, cand, "baseline", baseline, *over_baseline)));
    }
    if (sig_production || block_on_regression) {
      if (production_all.is_null()) {
        if (sig_production) {
          checks.push_back(NoProduction(metric, segment, "significant_over_production"));
        }
        if (block_on_regression) {
          checks.push_back(NoProduction(metric, segment, "no_significant_regression"));
        }
      } else {
        REEL_ASSIGN_OR_RETURN(BootstrapInterval interval,
                              intervals.Get(metric, segment, "production"));
        if (sig_production) {
          checks.push_back(
              IntervalCheck(metric, segment, "production", interval, false, *sig_production));
        }
        if (block_on_regression) {
          checks.push_back(IntervalCheck(metric, segment, "production", interval, true, 0));
        }
      }
    }
    if (sig_baseline) {
      REEL_ASSIGN_OR_RETURN(BootstrapInterval interval, intervals.Get(metric, segment, "baseline"));
      checks.push_back(IntervalCheck(metric, segment, "baseline", interval, false, *sig_baseline));
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
  ctx.SetOutput("intervals", intervals.json());
  Json event = {{"passed", passed},
                {"rules", rules},
                {"checks", check_json},
                {"reason", reason},
                {"model_name", evaluation.value("model_name", Json())}};
  if (!intervals.json().empty()) {
    event["intervals"] = intervals.json();
    event["bootstrap"] = {{"resamples", settings.bootstrap.resamples},
                          {"seed", settings.bootstrap.seed},
                          {"confidence", settings.bootstrap.confidence}};
  }
  ctx.RecordEvent("gate.decision", event);
  auto fail_it = config.find("fail_on_block");
  bool fail_on_block = fail_it != config.end() && fail_it->is_boolean() && fail_it->get<bool>();
  if (!passed && fail_on_block) {
    return Status::Failed("metric_gate: blocked (fail_on_block is set):\n" + reason);
  }
  return Status::Ok();
}

}  // namespace reel
