// reel runs compare RUN_A RUN_B [--json]: two runs' params, metrics and artifacts side by side,
// differences marked with '*'.
//
// Metrics are keyed by task (step, or step[i] in a foreach) and metric key. A single-valued
// metric shows its last value; a series (per-epoch values) shows its last value and how many
// points it has, with first/min/max in --json.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <vector>

#include "cli/common.h"
#include "cli/run_support.h"

namespace reel::cli {
namespace {

using OJson = nlohmann::ordered_json;

struct MetricSummary {
  double last = 0;
  double first = 0;
  double min = 0;
  double max = 0;
  int points = 0;
  bool series = false;
};

// One run's comparable facts, keyed for alignment.
struct RunFacts {
  RunRecord run;
  std::map<std::string, Json> params;
  std::map<std::pair<std::string, std::string>, MetricSummary> metrics;  // (task, key)
  std::map<std::pair<std::string, std::string>, std::string> artifacts;  // (task, name) -> uri
};

Result<RunFacts> Collect(StateStore& store, const std::string& id) {
  REEL_ASSIGN_OR_RETURN(auto run, store.GetRun(id));
  RunFacts f;
  f.run = run;
  for (const auto& [key, value] : run.params.items()) f.params[key] = value;
  auto tasks = store.GetTasks(run.run_id);
  auto metrics = store.GetMetrics(run.run_id);
  auto artifacts = store.GetArtifacts(run.run_id);
  if (!tasks.ok()) return tasks.status();
  if (!metrics.ok()) return metrics.status();
  if (!artifacts.ok()) return artifacts.status();
  std::map<int64_t, std::string> label;
  for (const auto& t : *tasks) {
    label[t.task_id] = t.item_index < 0 ? t.step : fmt::format("{}[{}]", t.step, t.item_index);
  }
  auto task_of = [&](std::optional<int64_t> task_id) -> std::string {
    if (!task_id) return "-";
    auto it = label.find(*task_id);
    return it == label.end() ? "-" : it->second;
  };
  for (const auto& m : *metrics) {  // ordered by task, key, step: the last one wins
    MetricSummary& s = f.metrics[{task_of(m.task_id), m.key}];
    if (s.points == 0) {
      s.first = s.min = s.max = m.value;
    } else {
      s.min = std::min(s.min, m.value);
      s.max = std::max(s.max, m.value);
    }
    s.last = m.value;
    s.series = s.series || m.step >= 0;
    ++s.points;
  }
  for (const auto& a : *artifacts) f.artifacts[{task_of(a.task_id), a.name}] = a.uri;
  return f;
}

std::string Num(double v) { return std::isnan(v) ? "nan" : fmt::format("{:.6g}", v); }

std::string MetricText(const MetricSummary* s) {
  if (!s) return "-";
  if (!s->series || s->points == 1) return Num(s->last);
  return fmt::format("{} ({} pts)", Num(s->last), s->points);
}

OJson MetricJson(const MetricSummary* s) {
  if (!s) return nullptr;
  if (!s->series) return s->last;
  return {{"last", s->last},
          {"points", s->points},
          {"first", s->first},
          {"min", s->min},
          {"max", s->max}};
}

std::string ParamText(const Json* v) {
  if (!v) return "-";
  return v->is_string() ? v->get<std::string>() : v->dump();
}

struct Row {
  std::string section, key, a, b;
  bool differs = false;
};

// The union of both maps' keys, in order.
template <typename Map>
std::vector<typename Map::key_type> Keys(const Map& a, const Map& b) {
  std::vector<typename Map::key_type> keys;
  for (const auto& [k, v] : a) keys.push_back(k);
  for (const auto& [k, v] : b) {
    if (!a.count(k)) keys.push_back(k);
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

template <typename Map>
const typename Map::mapped_type* Find(const Map& m, const typename Map::key_type& k) {
  auto it = m.find(k);
  return it == m.end() ? nullptr : &it->second;
}

int Compare(Home& home, const std::string& id_a, const std::string& id_b, bool json) {
  auto a = Collect(*home.store, id_a);
  if (!a.ok()) {
    PrintError(a.status().message());
    return a.status().code() == Status::Code::kNotFound ||
                   a.status().code() == Status::Code::kInvalidArgument
               ? kExitUsage
               : kExitInternal;
  }
  auto b = Collect(*home.store, id_b);
  if (!b.ok()) {
    PrintError(b.status().message());
    return b.status().code() == Status::Code::kNotFound ||
                   b.status().code() == Status::Code::kInvalidArgument
               ? kExitUsage
               : kExitInternal;
  }
  std::vector<Row> rows;
  OJson out;
  out["runs"] = {{{"run_id", a->run.run_id},
                  {"workflow", a->run.workflow},
                  {"status", ToString(a->run.status)},
                  {"logical_date", a->run.logical_date}},
                 {{"run_id", b->run.run_id},
                  {"workflow", b->run.workflow},
                  {"status", ToString(b->run.status)},
                  {"logical_date", b->run.logical_date}}};
  rows.push_back(
      {"run", "workflow", a->run.workflow, b->run.workflow, a->run.workflow != b->run.workflow});
  rows.push_back({"run", "status", std::string(ToString(a->run.status)),
                  std::string(ToString(b->run.status)), a->run.status != b->run.status});
  rows.push_back({"run", "date", a->run.logical_date, b->run.logical_date,
                  a->run.logical_date != b->run.logical_date});

  out["params"] = OJson::array();
  for (const auto& key : Keys(a->params, b->params)) {
    const Json* pa = Find(a->params, key);
    const Json* pb = Find(b->params, key);
    bool differs = !pa || !pb || *pa != *pb;
    rows.push_back({"param", key, ParamText(pa), ParamText(pb), differs});
    out["params"].push_back({{"key", key},
                             {"a", pa ? OJson::parse(JsonText(*pa, -1)) : OJson()},
                             {"b", pb ? OJson::parse(JsonText(*pb, -1)) : OJson()},
                             {"differs", differs}});
  }
  out["metrics"] = OJson::array();
  for (const auto& key : Keys(a->metrics, b->metrics)) {
    const MetricSummary* ma = Find(a->metrics, key);
    const MetricSummary* mb = Find(b->metrics, key);
    bool differs = !ma || !mb || !(ma->last == mb->last) || ma->points != mb->points;
    rows.push_back(
        {"metric", key.first + " " + key.second, MetricText(ma), MetricText(mb), differs});
    out["metrics"].push_back({{"step", key.first},
                              {"key", key.second},
                              {"a", MetricJson(ma)},
                              {"b", MetricJson(mb)},
                              {"differs", differs}});
  }
  out["artifacts"] = OJson::array();
  for (const auto& key : Keys(a->artifacts, b->artifacts)) {
    const std::string* ua = Find(a->artifacts, key);
    const std::string* ub = Find(b->artifacts, key);
    bool differs = !ua || !ub || *ua != *ub;
    rows.push_back({"artifact", key.first + " " + key.second, ua ? ua->substr(0, 19) : "-",
                    ub ? ub->substr(0, 19) : "-", differs});
    out["artifacts"].push_back({{"step", key.first},
                                {"name", key.second},
                                {"a", ua ? OJson(*ua) : OJson()},
                                {"b", ub ? OJson(*ub) : OJson()},
                                {"differs", differs}});
  }
  if (json) {
    std::cout << JsonText(out) << "\n";
    return kExitOk;
  }
  std::size_t wk = 3, wa = a->run.run_id.size();
  for (const auto& r : rows) {
    wk = std::max(wk, r.key.size());
    wa = std::max(wa, r.a.size());
  }
  auto line = [&](const std::string& mark, const std::string& section, const std::string& key,
                  const std::string& va, const std::string& vb) {
    std::printf("%-1s %-8s %-*s  %-*s  %s\n", mark.c_str(), section.c_str(), static_cast<int>(wk),
                key.c_str(), static_cast<int>(wa), va.c_str(), vb.c_str());
  };
  line(" ", "", "", a->run.run_id, b->run.run_id);
  int differences = 0;
  std::string section;
  for (const auto& r : rows) {
    if (r.section != section && !section.empty()) std::printf("\n");
    section = r.section;
    line(r.differs ? "*" : " ", r.section, r.key, r.a.empty() ? "-" : r.a, r.b.empty() ? "-" : r.b);
    differences += r.differs ? 1 : 0;
  }
  std::printf("\n%d difference%s (marked *)\n", differences, differences == 1 ? "" : "s");
  return kExitOk;
}

}  // namespace

void AddCompareCommand(CLI::App& app, GlobalOptions& options) {
  CLI::App* runs = app.get_subcommand("runs");
  auto* compare = runs->add_subcommand(
      "compare", "Two runs' params, metrics and artifacts side by side, differences marked");
  auto id_a = std::make_shared<std::string>();
  auto id_b = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  compare->add_option("RUN_A", *id_a, "run id or a unique prefix")->required();
  compare->add_option("RUN_B", *id_b, "run id or a unique prefix")->required();
  compare->add_flag("--json", *json, "print JSON");
  compare->callback([&options, id_a, id_b, json] {
    options.action = [&options, id_a, id_b, json]() -> int {
      Home home;
      if (!OpenHomeOrReport(ResolveHome(options), home)) return kExitInternal;
      return Compare(home, *id_a, *id_b, *json);
    };
  });
}

}  // namespace reel::cli
