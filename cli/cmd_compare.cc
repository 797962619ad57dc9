// reel runs compare RUN RUN [RUN...] [--json]: runs' status, duration, params, metrics and
// artifacts side by side, one column per run, differences marked with '*'.
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
#include <set>
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
  std::string section, key;
  std::vector<std::string> values;  // one per run
  bool differs = false;
};

// The union of every map's keys, sorted.
template <typename Map>
std::vector<typename Map::key_type> Keys(const std::vector<const Map*>& maps) {
  std::set<typename Map::key_type> keys;
  for (const Map* m : maps) {
    for (const auto& [k, v] : *m) keys.insert(k);
  }
  return {keys.begin(), keys.end()};
}

template <typename Map>
const typename Map::mapped_type* Find(const Map& m, const typename Map::key_type& k) {
  auto it = m.find(k);
  return it == m.end() ? nullptr : &it->second;
}

// True unless every run has the value and all are equal.
template <typename T, typename Eq>
bool Differs(const std::vector<const T*>& values, Eq equal) {
  for (const T* v : values) {
    if (!v || !equal(*v, *values.front())) return true;
  }
  return false;
}

// Per-run values of one row in --json: "values" (one per run); with two runs also "a" and "b".
void SetValues(OJson& j, const std::vector<OJson>& values) {
  j["values"] = values;
  if (values.size() == 2) {
    j["a"] = values[0];
    j["b"] = values[1];
  }
}

std::string DurationText(const RunRecord& r) { return FormatElapsed(r.started_at, r.ended_at); }

int Compare(Home& home, const std::vector<std::string>& ids, bool json) {
  std::vector<RunFacts> runs;
  for (const auto& id : ids) {
    auto facts = Collect(*home.store, id);
    if (!facts.ok()) return ReportFailure(facts.status());
    runs.push_back(std::move(*facts));
  }
  std::vector<Row> rows;
  OJson out;
  out["runs"] = OJson::array();
  for (const auto& f : runs) {
    const RunRecord& r = f.run;
    out["runs"].push_back(
        {{"run_id", r.run_id},
         {"workflow", r.workflow},
         {"status", ToString(r.status)},
         {"logical_date", r.logical_date},
         {"duration_ms",
          r.started_at && r.ended_at ? OJson(*r.ended_at - *r.started_at) : OJson(nullptr)}});
  }
  auto run_row = [&](const std::string& key, auto text) {
    Row row{.section = "run", .key = key};
    for (const auto& f : runs) row.values.push_back(text(f.run));
    for (const auto& v : row.values) row.differs = row.differs || v != row.values.front();
    rows.push_back(std::move(row));
  };
  run_row("workflow", [](const RunRecord& r) { return r.workflow; });
  run_row("status", [](const RunRecord& r) { return std::string(ToString(r.status)); });
  run_row("date", [](const RunRecord& r) { return r.logical_date; });
  run_row("duration", [](const RunRecord& r) { return DurationText(r); });
  // Durations always differ a little: they are shown, never counted as a difference.
  rows.back().differs = false;

  std::vector<const std::map<std::string, Json>*> params;
  std::vector<const std::map<std::pair<std::string, std::string>, MetricSummary>*> metrics;
  std::vector<const std::map<std::pair<std::string, std::string>, std::string>*> artifacts;
  for (const auto& f : runs) {
    params.push_back(&f.params);
    metrics.push_back(&f.metrics);
    artifacts.push_back(&f.artifacts);
  }

  out["params"] = OJson::array();
  for (const auto& key : Keys(params)) {
    std::vector<const Json*> values;
    for (const auto* m : params) values.push_back(Find(*m, key));
    bool differs = Differs(values, [](const Json& a, const Json& b) { return a == b; });
    Row row{.section = "param", .key = key, .differs = differs};
    std::vector<OJson> js;
    for (const Json* v : values) {
      row.values.push_back(ParamText(v));
      js.push_back(v ? OJson::parse(JsonText(*v, -1)) : OJson());
    }
    rows.push_back(std::move(row));
    OJson j{{"key", key}};
    SetValues(j, js);
    j["differs"] = differs;
    out["params"].push_back(std::move(j));
  }
  out["metrics"] = OJson::array();
  for (const auto& key : Keys(metrics)) {
    std::vector<const MetricSummary*> values;
    for (const auto* m : metrics) values.push_back(Find(*m, key));
    bool differs = Differs(values, [](const MetricSummary& a, const MetricSummary& b) {
      return a.last == b.last && a.points == b.points;
    });
    Row row{.section = "metric", .key = key.first + " " + key.second, .differs = differs};
    std::vector<OJson> js;
    for (const MetricSummary* v : values) {
      row.values.push_back(MetricText(v));
      js.push_back(MetricJson(v));
    }
    rows.push_back(std::move(row));
    OJson j{{"step", key.first}, {"key", key.second}};
    SetValues(j, js);
    j["differs"] = differs;
    out["metrics"].push_back(std::move(j));
  }
  out["artifacts"] = OJson::array();
  for (const auto& key : Keys(artifacts)) {
    std::vector<const std::string*> values;
    for (const auto* m : artifacts) values.push_back(Find(*m, key));
    bool differs =
        Differs(values, [](const std::string& a, const std::string& b) { return a == b; });
    Row row{.section = "artifact", .key = key.first + " " + key.second, .differs = differs};
    std::vector<OJson> js;
    for (const std::string* v : values) {
      row.values.push_back(v ? v->substr(0, 19) : "-");
      js.push_back(v ? OJson(*v) : OJson());
    }
    rows.push_back(std::move(row));
    OJson j{{"step", key.first}, {"name", key.second}};
    SetValues(j, js);
    j["differs"] = differs;
    out["artifacts"].push_back(std::move(j));
  }
  if (json) {
    std::cout << JsonText(out) << "\n";
    return kExitOk;
  }
  std::size_t wk = 3;
  std::vector<std::size_t> widths;
  for (const auto& f : runs) widths.push_back(f.run.run_id.size());
  for (const auto& r : rows) {
    wk = std::max(wk, r.key.size());
    for (size_t i = 0; i < r.values.size(); ++i) {
      widths[i] = std::max(widths[i], std::max<std::size_t>(r.values[i].size(), 1));
    }
  }
  auto line = [&](const std::string& mark, const std::string& section, const std::string& key,
                  const std::vector<std::string>& values) {
    std::string text = fmt::format("{:<1} {:<8} {:<{}}", mark, section, key, wk);
    for (size_t i = 0; i < values.size(); ++i) {
      std::string v = values[i].empty() ? "-" : values[i];
      text += i + 1 == values.size() ? "  " + v : fmt::format("  {:<{}}", v, widths[i]);
    }
    std::printf("%s\n", text.c_str());
  };
  std::vector<std::string> header;
  for (const auto& f : runs) header.push_back(f.run.run_id);
  line(" ", "", "", header);
  int differences = 0;
  std::string section;
  for (const auto& r : rows) {
    if (r.section != section && !section.empty()) std::printf("\n");
    section = r.section;
    line(r.differs ? "*" : " ", r.section, r.key, r.values);
    differences += r.differs ? 1 : 0;
  }
  std::printf("\n%d difference%s (marked *)\n", differences, differences == 1 ? "" : "s");
  return kExitOk;
}

}  // namespace

void AddCompareCommand(CLI::App& app, GlobalOptions& options) {
  CLI::App* runs = app.get_subcommand("runs");
  auto* compare = runs->add_subcommand(
      "compare",
      "Runs' status, duration, params, metrics and artifacts side by side, differences marked");
  auto ids = std::make_shared<std::vector<std::string>>();
  auto json = std::make_shared<bool>(false);
  compare->add_option("RUN", *ids, "two or more run ids (or unique prefixes)")
      ->required()
      ->expected(2, 1000);
  compare->add_flag("--json", *json, "print JSON");
  compare->callback([&options, ids, json] {
    options.action = [&options, ids, json]() -> int {
      Home home;
      if (!OpenHomeOrReport(ResolveHome(options), home)) return kExitInternal;
      return Compare(home, *ids, *json);
    };
  });
}

}  // namespace reel::cli
