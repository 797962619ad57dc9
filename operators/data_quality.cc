#include "operators/data_quality.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <set>
#include <unordered_set>

#include "engine/base/csv.h"
#include "engine/base/diagnostic.h"
#include "engine/base/duration.h"
#include "facts/fact_store.h"

namespace reel {
namespace {

// One row of either source: a fact row or a CSV record (an empty field is null).
struct RowView {
  const FactRow* fact = nullptr;
  const CsvRecord* csv = nullptr;
  const std::vector<bool>* text_columns = nullptr;  // fact columns typed string

  bool IsNull(int i) const {
    return fact ? fact->IsNull(i) : csv->fields[static_cast<std::size_t>(i)].empty();
  }
  std::string_view Text(int i) const {
    return fact ? fact->Text(i) : csv->fields[static_cast<std::size_t>(i)];
  }
  // False when the value is not a number.
  bool Number(int i, double* out) const {
    if (fact && !(*text_columns)[static_cast<std::size_t>(i)]) {
      *out = fact->Float(i);
      return true;
    }
    std::string s(Text(i));
    char* end = nullptr;
    *out = std::strtod(s.c_str(), &end);
    return !s.empty() && end == s.c_str() + s.size() && std::isfinite(*out);
  }
};

struct Check {
  std::string kind;
  std::string severity = "error";
  Json spec;
  std::vector<int> columns;  // resolved column indexes
  std::string label;  // "null_rate(user_id)"
  std::optional<double> min, max;
  std::int64_t max_violations = 0;
  Millis max_age{0};
  // Running state.
  std::int64_t violations = 0, nulls = 0;
  std::unordered_set<std::string> seen;
  std::set<std::string, std::less<>> allowed;
};

const std::vector<std::string> kKinds = {"row_count",      "null_rate", "unique",       "range",
                                         "allowed_values", "freshness", "volume_change"};

// The keys each kind accepts besides `check` and `severity`.
std::vector<std::string> KeysOf(const std::string& kind) {
  if (kind == "row_count") return {"min", "max"};
  if (kind == "null_rate") return {"column", "max"};
  if (kind == "unique") return {"column", "columns", "max_violations"};
  if (kind == "range") return {"column", "min", "max", "max_violations"};
  if (kind == "allowed_values") return {"column", "values", "max_violations"};
  if (kind == "freshness") return {"max_age"};
  return {"max_change"};  // volume_change
}

Status Number(const Json& j, const char* key, const std::string& where, std::optional<double>* out) {
  if (!j.contains(key)) return Status::Ok();
  if (!j[key].is_number()) {
    return Status::InvalidArgument(where + ": '" + key + "' must be a number, got " + j[key].dump());
  }
  *out = j[key].get<double>();
  return Status::Ok();
}

// `dataset` says whether the checks run on a CSV dataset (no event times, no partitions).
Status ParseCheck(const Json& j, const std::vector<std::string>& header, bool dataset, Check* out) {
  if (!j.is_object() || !j.contains("check") || !j["check"].is_string()) {
    return Status::InvalidArgument("data_quality: each check is {check: KIND, ...}, got " + j.dump());
  }
  Check c;
  c.kind = j["check"].get<std::string>();
  if (std::find(kKinds.begin(), kKinds.end(), c.kind) == kKinds.end()) {
    std::string guess = ClosestMatch(c.kind, kKinds);
    return Status::InvalidArgument("data_quality: unknown check '" + c.kind + "'" +
                                   (guess.empty() ? "" : "; did you mean '" + guess + "'?") +
                                   " (checks: row_count, null_rate, unique, range, "
                                   "allowed_values, freshness, volume_change)");
  }
  const std::string where = "data_quality: check '" + c.kind + "'";
  std::vector<std::string> keys = KeysOf(c.kind);
  for (const auto& [k, v] : j.items()) {
    if (k == "check" || k == "severity" || std::find(keys.begin(), keys.end(), k) != keys.end()) {
      continue;
    }
    std::string all;
    for (const auto& key : keys) all += ", " + key;
    std::string guess = ClosestMatch(k, keys);
    return Status::InvalidArgument(where + ": unknown key '" + k + "'" +
                                   (guess.empty() ? "" : " (did you mean '" + guess + "'?)") +
                                   "; it takes check, severity" + all);
  }
  if (dataset && (c.kind == "freshness" || c.kind == "volume_change")) {
    return Status::InvalidArgument(where + " needs a fact table (event times, partitions); it "
                                           "does not apply to a dataset");
  }
  if (j.contains("severity")) {
    if (!j["severity"].is_string() ||
        (j["severity"] != "error" && j["severity"] != "warn")) {
      return Status::InvalidArgument(where + ": severity is 'error' or 'warn', got " +
                                     j["severity"].dump());
    }
    c.severity = j["severity"].get<std::string>();
  }
  c.spec = j;
  std::vector<std::string> names;
  if (j.contains("column")) {
    if (!j["column"].is_string()) {
      return Status::InvalidArgument(where + ": 'column' must be a column name, got " +
                                     j["column"].dump());
    }
    names.push_back(j["column"].get<std::string>());
  }
  if (j.contains("columns")) {
    if (!j["columns"].is_array() || j["columns"].empty()) {
      return Status::InvalidArgument(where + ": 'columns' must be a list of column names");
    }
    for (const auto& n : j["columns"]) {
      if (!n.is_string()) {
        return Status::InvalidArgument(where + ": 'columns' must be a list of column names");
      }
      names.push_back(n.get<std::string>());
    }
  }
  bool needs_column = c.kind == "null_rate" || c.kind == "unique" || c.kind == "range" ||
                      c.kind == "allowed_values";
  if (needs_column && names.empty()) {
    return Status::InvalidArgument(where + " needs 'column'");
  }
  for (const auto& name : names) {
    auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) {
      std::string all;
      for (const auto& h : header) all += (all.empty() ? "" : ", ") + h;
      std::string guess = ClosestMatch(name, header);
      return Status::NotFound(where + ": no column '" + name + "'" +
                              (guess.empty() ? "" : " (did you mean '" + guess + "'?)") +
                              "; columns: " + all);
    }
    c.columns.push_back(static_cast<int>(it - header.begin()));
  }
  REEL_RETURN_IF_ERROR(Number(j, "min", where, &c.min));
  REEL_RETURN_IF_ERROR(Number(j, "max", where, &c.max));
  if ((c.kind == "row_count" || c.kind == "range") && !c.min && !c.max) {
    return Status::InvalidArgument(where + " needs 'min', 'max' or both");
  }
  if (c.kind == "null_rate" && !c.max) c.max = 0.0;
  if (j.contains("max_violations")) {
    if (!j["max_violations"].is_number_integer() || j["max_violations"].get<std::int64_t>() < 0) {
      return Status::InvalidArgument(where + ": 'max_violations' must be an integer >= 0");
    }
    c.max_violations = j["max_violations"].get<std::int64_t>();
  }
  if (c.kind == "volume_change") {
    std::optional<double> max_change;
    REEL_RETURN_IF_ERROR(Number(j, "max_change", where, &max_change));
    c.max = max_change.value_or(0.5);
  }
  if (c.kind == "freshness") {
    if (!j.contains("max_age") || !j["max_age"].is_string()) {
      return Status::InvalidArgument(where + " needs 'max_age', a duration such as 1d or 36h");
    }
    auto age = ParseDuration(j["max_age"].get<std::string>());
    if (!age.ok()) return Status::InvalidArgument(where + ": max_age: " + age.status().message());
    c.max_age = *age;
  }
  if (c.kind == "allowed_values") {
    if (!j.contains("values") || !j["values"].is_array()) {
      return Status::InvalidArgument(where + " needs 'values: [...]'");
    }
    for (const auto& v : j["values"]) {
      c.allowed.insert(v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  c.label = c.kind;
  if (!names.empty()) {
    c.label += "(";
    for (std::size_t i = 0; i < names.size(); ++i) c.label += (i ? "," : "") + names[i];
    c.label += ")";
  }
  *out = std::move(c);
  return Status::Ok();
}

void Observe(Check& c, const RowView& row) {
  if (c.kind == "null_rate") {
    if (row.IsNull(c.columns[0])) ++c.nulls;
  } else if (c.kind == "unique") {
    std::string key;
    for (int i : c.columns) {
      key += row.IsNull(i) ? std::string_view("\x1e") : row.Text(i);
      key += '\x1f';
    }
    if (!c.seen.insert(std::move(key)).second) ++c.violations;
  } else if (c.kind == "range") {
    if (row.IsNull(c.columns[0])) return;
    double v;
    if (!row.Number(c.columns[0], &v) || (c.min && v < *c.min) || (c.max && v > *c.max)) {
      ++c.violations;
    }
  } else if (c.kind == "allowed_values") {
    if (!row.IsNull(c.columns[0]) && !c.allowed.count(row.Text(c.columns[0]))) ++c.violations;
  }
}

std::string FormatValue(double v) {
  return std::floor(v) == v && std::fabs(v) < 1e15 ? std::to_string(static_cast<std::int64_t>(v))
                                                    : fmt::format("{:.4g}", v);
}

}  // namespace

OperatorInfo DataQualityOperator::Info() {
  OperatorInfo info;
  info.name = "data_quality";
  info.description =
      "Checks a fact table (as of ds) or a CSV dataset: row counts, null rates, uniqueness, "
      "ranges, allowed values, freshness and volume change; every result is a metric.";
  info.config = {
      {"ds", ConfigType::kString, false, nullptr, "the logical date YYYY-MM-DD (fact tables)"},
      {"table", ConfigType::kString, false, nullptr, "a fact table to check"},
      {"dataset", ConfigType::kString, false, nullptr, "or: a CSV artifact uri (or path) to check"},
      {"scope", ConfigType::kString, false, "partition",
       "fact tables: 'partition' (the latest partition before ds) or 'as_of' (all rows visible "
       "at ds)"},
      {"checks", ConfigType::kList, true, nullptr,
       "[{check: row_count|null_rate|unique|range|allowed_values|freshness|volume_change, "
       "column(s), min, max, values, max_violations, max_age, max_change, severity: "
       "error|warn}]"},
      {"db", ConfigType::kString, false, nullptr, "fact store file (default <home>/facts.db)"},
  };
  info.example =
      "quality:\n  operator: data_quality\n  with:\n    ds: \"{{ params.ds }}\"\n"
      "    table: viewing_history\n    checks:\n      - {check: row_count, min: 1000}\n"
      "      - {check: null_rate, column: user_id, max: 0}\n"
      "      - {check: volume_change, max_change: 0.5, severity: warn}\n";
  return info;
}

Status DataQualityOperator::Execute(Context& ctx) {
  const Json& cfg = ctx.config();
  auto get = [&](const char* key) -> std::string {
    return cfg.contains(key) && cfg[key].is_string() ? cfg[key].get<std::string>() : "";
  };
  const std::string table = get("table"), dataset = get("dataset"), ds = get("ds");
  if (table.empty() == dataset.empty()) {
    return Status::InvalidArgument("data_quality: set exactly one of 'table' (a fact table) or "
                                   "'dataset' (a CSV artifact)");
  }
  if (!cfg.contains("checks") || !cfg["checks"].is_array() || cfg["checks"].empty()) {
    return Status::InvalidArgument("data_quality: 'checks' must be a non-empty list of "
                                   "{check: KIND, ...}");
  }
  std::vector<std::string> header;
  std::int64_t rows = 0;
  std::optional<std::int64_t> age_ms;  // ds 00:00 minus the newest fact's time
  std::optional<std::int64_t> latest_rows, previous_rows;  // partitions, for volume_change
  std::string subject;
  std::vector<Check> checks;
  auto parse_checks = [&]() -> Status {
    for (const auto& j : cfg["checks"]) {
      Check c;
      REEL_RETURN_IF_ERROR(ParseCheck(j, header, !dataset.empty(), &c));
      checks.push_back(std::move(c));
    }
    return Status::Ok();
  };

  if (!dataset.empty()) {
    subject = "dataset " + dataset;
    auto path = ctx.ArtifactPath(dataset);
    if (!path.ok() && std::filesystem::is_regular_file(dataset)) path = std::filesystem::path(dataset);
    if (!path.ok()) {
      return Status::NotFound("data_quality: dataset '" + dataset +
                              "' is neither an artifact nor a file: " + path.status().message());
    }
    auto reader = CsvReader::Open(*path);
    if (!reader.ok()) return reader.status();
    CsvRecord rec;
    if ((*reader)->Next(rec)) {
      for (auto f : rec.fields) header.emplace_back(f);
    }
    REEL_RETURN_IF_ERROR(parse_checks());
    while ((*reader)->Next(rec)) {
      if (!rec.error.empty() || rec.fields.size() != header.size()) {
        return Status::Failed(fmt::format(
            "data_quality: {}: line {}: {}", subject, rec.line,
            rec.error.empty() ? fmt::format("{} fields, the header has {}", rec.fields.size(),
                                            header.size())
                              : rec.error));
      }
      ++rows;
      RowView view{nullptr, &rec, nullptr};
      for (auto& c : checks) Observe(c, view);
    }
    REEL_RETURN_IF_ERROR((*reader)->status());
  } else {
    if (ds.empty()) {
      return Status::InvalidArgument("data_quality: checking a fact table needs 'ds' (YYYY-MM-DD)");
    }
    auto day = ParseDay(ds);
    if (!day.ok()) return Status::InvalidArgument("data_quality: ds: " + day.status().message());
    std::filesystem::path db = cfg.contains("db") && cfg["db"].is_string()
                                   ? std::filesystem::path(cfg["db"].get<std::string>())
                                   : ctx.home() / "facts.db";
    if (!std::filesystem::exists(db)) {
      return Status::NotFound("data_quality: no fact store at " + db.string() +
                              "; load facts with a fact_snapshot step first");
    }
    auto store = FactStore::Open(db, false);
    if (!store.ok()) return store.status();
    auto info = (*store)->Table(table);
    if (!info.ok()) return Status::NotFound("data_quality: " + info.status().message());
    std::vector<bool> text_columns;
    for (const auto& col : info->schema.columns) {
      header.push_back(col.name);
      text_columns.push_back(col.type == ColumnType::kString);
    }
    REEL_RETURN_IF_ERROR(parse_checks());
    const bool is_event = info->kind == FactKind::kEvent;
    std::optional<std::int64_t> newest_ms;
    auto visit = [&](const FactRow& row) {
      ++rows;
      if (is_event) newest_ms = std::max(newest_ms.value_or(INT64_MIN), row.TimeMs());
      RowView view{&row, nullptr, &text_columns};
      for (auto& c : checks) Observe(c, view);
      return true;
    };
    const std::string scope = cfg.value("scope", std::string("partition"));
    if (scope != "partition" && scope != "as_of") {
      return Status::InvalidArgument("data_quality: scope is 'partition' or 'as_of', got '" +
                                     scope + "'");
    }
    auto partitions = (*store)->Partitions(table);
    if (!partitions.ok()) return partitions.status();
    std::vector<PartitionInfo> before;
    for (const auto& p : *partitions) {
      if (p.day < *day) before.push_back(p);
    }
    if (before.empty()) {
      return Status::Failed("data_quality: fact table '" + table + "' has no partition before " +
                            ds + "; snapshot it first");
    }
    latest_rows = before.back().rows;
    if (before.size() >= 2) previous_rows = before[before.size() - 2].rows;
    if (scope == "partition") {
      subject = "table " + table + " partition " + before.back().ds;
      REEL_RETURN_IF_ERROR((*store)->ScanPartition(table, before.back().ds, visit));
    } else {
      subject = "table " + table + " as of " + ds;
      REEL_RETURN_IF_ERROR((*store)->AsOf(table, FactTime(std::chrono::milliseconds(DayStartMs(*day))),
                                          visit));
    }
    // A state partition is as fresh as the end of its day.
    if (!is_event) newest_ms = DayStartMs(before.back().day + 1);
    if (newest_ms) age_ms = DayStartMs(*day) - *newest_ms;
  }

  std::vector<std::string> failures, warnings;
  Json results = Json::array();
  for (auto& c : checks) {
    double value = 0;
    bool passed = true;
    std::string detail;
    if (c.kind == "row_count") {
      value = static_cast<double>(rows);
      passed = !(c.min && value < *c.min) && !(c.max && value > *c.max);
      detail = fmt::format("{} rows (expected {}..{})", rows, c.min ? FormatValue(*c.min) : "",
                           c.max ? FormatValue(*c.max) : "");
    } else if (c.kind == "null_rate") {
      value = rows ? static_cast<double>(c.nulls) / static_cast<double>(rows) : 0;
      passed = value <= *c.max;
      detail = fmt::format("{} of {} rows null ({}, max {})", c.nulls, rows, FormatValue(value),
                           FormatValue(*c.max));
    } else if (c.kind == "unique" || c.kind == "range" || c.kind == "allowed_values") {
      value = static_cast<double>(c.violations);
      passed = c.violations <= c.max_violations;
      const char* what = c.kind == "unique" ? "duplicate" : "violating";
      detail = fmt::format("{} {} row(s) of {} (max {})", c.violations, what, rows,
                           c.max_violations);
    } else if (c.kind == "freshness") {
      if (!age_ms) {
        passed = false;
        detail = "no facts to check";
      } else {
        value = static_cast<double>(*age_ms) / 3.6e6;
        passed = *age_ms <= c.max_age.count();
        detail = fmt::format("newest fact is {} old at {} (max {})",
                             FormatDuration(Millis(std::max<std::int64_t>(*age_ms, 0) / 1000 * 1000)),
                             ds, FormatDuration(c.max_age));
      }
    } else if (c.kind == "volume_change") {
      if (!previous_rows || *previous_rows == 0) {
        detail = "no previous non-empty partition to compare with";
      } else {
        value = static_cast<double>(*latest_rows - *previous_rows) /
                static_cast<double>(*previous_rows);
        passed = std::fabs(value) <= *c.max;
        detail = fmt::format("{} rows vs {} the partition before ({:+.1f}%, max ±{:.0f}%)",
                             *latest_rows, *previous_rows, value * 100, *c.max * 100);
      }
    }
    ctx.LogMetric("dq." + c.label, value);
    ctx.LogMetric("dq." + c.label + ".passed", passed ? 1 : 0);
    results.push_back({{"check", c.label}, {"value", value}, {"passed", passed},
                       {"severity", c.severity}, {"detail", detail}});
    std::string line = c.label + ": " + detail;
    if (passed) {
      ctx.Info("ok   {}", line);
    } else if (c.severity == "warn") {
      ctx.Warn("WARN {}", line);
      warnings.push_back(line);
    } else {
      ctx.Error("FAIL {}", line);
      failures.push_back(line);
    }
  }
  ctx.LogMetric("dq.rows", static_cast<double>(rows));
  ctx.SetOutput("results", results);
  ctx.SetOutput("rows", rows);
  ctx.SetOutput("passed", failures.empty());
  ctx.SetOutput("failures", failures);
  ctx.SetOutput("warnings", warnings);
  if (!failures.empty()) {
    std::string report = fmt::format("data quality failed on {}: {} of {} checks failed", subject,
                                     failures.size(), checks.size());
    for (const auto& f : failures) report += "\n  FAIL " + f;
    for (const auto& w : warnings) report += "\n  WARN " + w;
    return Status::Failed(report);
  }
  return Status::Ok();
}

}  // namespace reel
