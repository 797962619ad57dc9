#include "operators/data_quality_checks.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/base/diagnostic.h"

namespace reel::data_quality {

// Every kind of check, by the name the config and the labels use; one entry per alternative
// of CheckKind. The names appear nowhere else.
struct CheckKindEntry {
  std::string_view name;
  CheckKind defaults;             // the kind's type, with its default settings
  std::vector<std::string> keys;  // the keys it takes besides `check` and `severity`
  bool needs_fact_table = false;  // reads event times or partitions
};

const std::vector<CheckKindEntry>& CheckKinds() {
  static const std::vector<CheckKindEntry> kinds = {
      {.name = "row_count", .defaults = RowCountCheck{}, .keys = {"min", "max"}},
      {.name = "null_rate", .defaults = NullRateCheck{}, .keys = {"column", "max"}},
      {.name = "unique",
       .defaults = UniqueCheck{},
       .keys = {"column", "columns", "max_violations"}},
      {.name = "range",
       .defaults = RangeCheck{},
       .keys = {"column", "min", "max", "max_violations"}},
      {.name = "allowed_values",
       .defaults = AllowedValuesCheck{},
       .keys = {"column", "values", "max_violations"}},
      {.name = "freshness",
       .defaults = FreshnessCheck{},
       .keys = {"max_age"},
       .needs_fact_table = true},
      {.name = "volume_change",
       .defaults = VolumeChangeCheck{},
       .keys = {"max_change"},
       .needs_fact_table = true},
      {.name = "coverage",
       .defaults = CoverageCheck{},
       .keys = {"table", "from", "to", "max_missing_days"},
       .needs_fact_table = true},
  };
  return kinds;
}

std::vector<std::string> CheckKindNames() {
  std::vector<std::string> names;
  for (const auto& kind : CheckKinds()) names.emplace_back(kind.name);
  return names;
}

const CheckKindEntry* FindCheckKind(std::string_view name) {
  for (const auto& kind : CheckKinds()) {
    if (kind.name == name) return &kind;
  }
  return nullptr;
}

// Severities by name; the names appear nowhere else.
constexpr std::array<std::pair<Severity, std::string_view>, 2> kSeverities = {{
    {Severity::kError, "error"},
    {Severity::kWarn, "warn"},
}};

std::string_view SeverityName(Severity severity) {
  for (const auto& [value, name] : kSeverities) {
    if (value == severity) return name;
  }
  return "";
}

std::vector<std::string_view> SeverityNames() {
  std::vector<std::string_view> names;
  for (const auto& [severity, name] : kSeverities) names.push_back(name);
  return names;
}

// One entry of `checks` while it is parsed.
struct CheckInput {
  const Json& json;
  std::string where;                       // "data_quality: check 'range'"
  std::vector<std::string> column_names;   // from `column`, then `columns`
  const std::vector<std::string>& header;  // the subject's columns
};

Result<std::optional<double>> OptionalNumber(const CheckInput& in, const char* key) {
  if (!in.json.contains(key)) return std::optional<double>();
  const Json& value = in.json[key];
  if (!value.is_number()) {
    return Status::InvalidArgument(in.where + ": '" + key + "' must be a number, got " +
                                   value.dump());
  }
  return std::optional<double>(value.get<double>());
}

Result<std::int64_t> MaxViolations(const CheckInput& in) {
  if (!in.json.contains("max_violations")) return std::int64_t{0};
  const Json& value = in.json["max_violations"];
  if (!value.is_number_integer() || value.get<std::int64_t>() < 0) {
    return Status::InvalidArgument(in.where + ": 'max_violations' must be an integer >= 0");
  }
  return value.get<std::int64_t>();
}

// The indexes of the named columns; at least one must be named.
Result<std::vector<int>> Columns(const CheckInput& in) {
  if (in.column_names.empty()) return Status::InvalidArgument(in.where + " needs 'column'");
  std::vector<int> columns;
  for (const auto& name : in.column_names) {
    auto it = std::find(in.header.begin(), in.header.end(), name);
    if (it == in.header.end()) {
      std::string guess = ClosestMatch(name, in.header);
      return Status::NotFound(fmt::format("{}: no column '{}'{}; columns: {}", in.where, name,
                                          guess.empty() ? "" : " (did you mean '" + guess + "'?)",
                                          fmt::join(in.header, ", ")));
    }
    columns.push_back(static_cast<int>(it - in.header.begin()));
  }
  return columns;
}

Result<int> OneColumn(const CheckInput& in) {
  REEL_ASSIGN_OR_RETURN(std::vector<int> columns, Columns(in));
  return columns.front();
}

// Each kind reads its own keys into its settings, which start at the kind's defaults.
Status ParseSettings(const CheckInput& in, RowCountCheck& check) {
  REEL_ASSIGN_OR_RETURN(check.min, OptionalNumber(in, "min"));
  REEL_ASSIGN_OR_RETURN(check.max, OptionalNumber(in, "max"));
  if (!check.min && !check.max) {
    return Status::InvalidArgument(in.where + " needs 'min', 'max' or both");
  }
  return Status::Ok();
}

Status ParseSettings(const CheckInput& in, NullRateCheck& check) {
  REEL_ASSIGN_OR_RETURN(check.column, OneColumn(in));
  REEL_ASSIGN_OR_RETURN(std::optional<double> max, OptionalNumber(in, "max"));
  check.max = max.value_or(check.max);
  return Status::Ok();
}

Status ParseSettings(const CheckInput& in, UniqueCheck& check) {
  REEL_ASSIGN_OR_RETURN(check.columns, Columns(in));
  REEL_ASSIGN_OR_RETURN(check.max_violations, MaxViolations(in));
  return Status::Ok();
}

Status ParseSettings(const CheckInput& in, RangeCheck& check) {
  REEL_ASSIGN_OR_RETURN(check.column, OneColumn(in));
  REEL_ASSIGN_OR_RETURN(check.min, OptionalNumber(in, "min"));
  REEL_ASSIGN_OR_RETURN(check.max, OptionalNumber(in, "max"));
  if (!check.min && !check.max) {
    return Status::InvalidArgument(in.where + " needs 'min', 'max' or both");
  }
  REEL_ASSIGN_OR_RETURN(check.max_violations, MaxViolations(in));
  return Status::Ok();
}

Status ParseSettings(const CheckInput& in, AllowedValuesCheck& check) {
  REEL_ASSIGN_OR_RETURN(check.column, OneColumn(in));
  REEL_ASSIGN_OR_RETURN(check.max_violations, MaxViolations(in));
  if (!in.json.contains("values") || !in.json["values"].is_array()) {
    return Status::InvalidArgument(in.where + " needs 'values: [...]'");
  }
  for (const auto& v : in.json["values"]) {
    check.values.insert(v.is_string() ? v.get<std::string>() : v.dump());
  }
  return Status::Ok();
}

Status ParseSettings(const CheckInput& in, FreshnessCheck& check) {
  if (!in.json.contains("max_age") || !in.json["max_age"].is_string()) {
    return Status::InvalidArgument(in.where + " needs 'max_age', a duration such as 1d or 36h");
  }
  auto age = ParseDuration(in.json["max_age"].get<std::string>());
  if (!age.ok()) return Status::InvalidArgument(in.where + ": max_age: " + age.status().message());
  check.max_age = *age;
  return Status::Ok();
}

Status ParseSettings(const CheckInput& in, VolumeChangeCheck& check) {
  REEL_ASSIGN_OR_RETURN(std::optional<double> max_change, OptionalNumber(in, "max_change"));
  check.max_change = max_change.value_or(check.max_change);
  return Status::Ok();
}

Result<std::int32_t> DayKey(const CheckInput& in, const char* key) {
  if (!in.json.contains(key) || !in.json[key].is_string()) {
    return Status::InvalidArgument(in.where + " needs '" + key + "', a date YYYY-MM-DD");
  }
  auto day = ParseDay(in.json[key].get<std::string>());
  if (!day.ok()) {
    return Status::InvalidArgument(in.where + ": " + key + ": " + day.status().message());
  }
  return *day;
}

Status ParseSettings(const CheckInput& in, CoverageCheck& check) {
  if (in.json.contains("table")) {
    if (!in.json["table"].is_string()) {
      return Status::InvalidArgument(in.where + ": 'table' must be a fact table name, got " +
                                     in.json["table"].dump());
    }
    check.table = in.json["table"].get<std::string>();
    REEL_RETURN_IF_ERROR(ValidateFactTableName(check.table));
  }
  REEL_ASSIGN_OR_RETURN(check.from, DayKey(in, "from"));
  REEL_ASSIGN_OR_RETURN(check.to, DayKey(in, "to"));
  if (check.to < check.from) {
    return Status::InvalidArgument(fmt::format("{}: 'to' ({}) is before 'from' ({})", in.where,
                                               FormatDay(check.to), FormatDay(check.from)));
  }
  if (in.json.contains("max_missing_days")) {
    const Json& value = in.json["max_missing_days"];
    if (!value.is_number_integer() || value.get<std::int64_t>() < 0) {
      return Status::InvalidArgument(in.where + ": 'max_missing_days' must be an integer >= 0");
    }
    check.max_missing_days = value.get<std::int64_t>();
  }
  return Status::Ok();
}

Result<const CheckKindEntry*> ParseKind(const Json& j) {
  if (!j.is_object() || !j.contains("check") || !j["check"].is_string()) {
    return Status::InvalidArgument("data_quality: each check is {check: KIND, ...}, got " +
                                   j.dump());
  }
  const std::string name = j["check"].get<std::string>();
  if (const CheckKindEntry* kind = FindCheckKind(name)) return kind;
  std::vector<std::string> names = CheckKindNames();
  std::string guess = ClosestMatch(name, names);
  return Status::InvalidArgument(
      fmt::format("data_quality: unknown check '{}'{} (checks: {})", name,
                  guess.empty() ? "" : "; did you mean '" + guess + "'?", fmt::join(names, ", ")));
}

Status CheckKeys(const Json& j, const CheckKindEntry& kind, const std::string& where) {
  for (const auto& [key, value] : j.items()) {
    if (key == "check" || key == "severity" ||
        std::find(kind.keys.begin(), kind.keys.end(), key) != kind.keys.end()) {
      continue;
    }
    std::string guess = ClosestMatch(key, kind.keys);
    return Status::InvalidArgument(
        fmt::format("{}: unknown key '{}'{}; it takes check, severity{}{}", where, key,
                    guess.empty() ? "" : " (did you mean '" + guess + "'?)",
                    kind.keys.empty() ? "" : ", ", fmt::join(kind.keys, ", ")));
  }
  return Status::Ok();
}

Result<Severity> ParseSeverity(const Json& j, const std::string& where) {
  if (!j.contains("severity")) return Severity::kError;
  const Json& value = j["severity"];
  for (const auto& [severity, name] : kSeverities) {
    if (value.is_string() && value.get<std::string>() == name) return severity;
  }
  return Status::InvalidArgument(fmt::format("{}: severity is '{}', got {}", where,
                                             fmt::join(SeverityNames(), "' or '"), value.dump()));
}

std::vector<ConfigProblem> ValidateChecks(const Json& with) {
  std::vector<ConfigProblem> problems;
  auto is_template = [](const Json& v) {
    return v.is_string() && v.get<std::string>().find("{{") != std::string::npos;
  };
  if (!with.is_object() || !with.contains("checks") || !with["checks"].is_array()) {
    return problems;
  }
  const Json& list = with["checks"];
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Json& j = list[i];
    const std::string at = "/checks/" + std::to_string(i);
    if (is_template(j)) continue;
    if (!j.is_object() || !j.contains("check") || !j["check"].is_string()) {
      problems.push_back(
          {.pointer = at,
           .message = "data_quality: each check is {check: KIND, ...}, got " + j.dump(),
           .hint = fmt::format("checks: {}", fmt::join(CheckKindNames(), ", "))});
      continue;
    }
    if (is_template(j["check"])) continue;
    const std::string name = j["check"].get<std::string>();
    const CheckKindEntry* kind = FindCheckKind(name);
    if (!kind) {
      std::vector<std::string> names = CheckKindNames();
      std::string guess = ClosestMatch(name, names);
      problems.push_back({.pointer = at + "/check",
                          .message = "data_quality: unknown check '" + name + "'",
                          .hint = fmt::format("{}checks: {}",
                                              guess.empty() ? "" : "did you mean '" + guess + "'? ",
                                              fmt::join(names, ", "))});
      continue;
    }
    const std::string where = fmt::format("data_quality: check '{}'", kind->name);
    for (const auto& [key, value] : j.items()) {
      Status s = CheckKeys(Json{{key, value}}, *kind, where);
      if (!s.ok()) problems.push_back({.pointer = at + "/" + key, .message = s.message()});
    }
    if (j.contains("severity") && !is_template(j["severity"])) {
      auto severity = ParseSeverity(j, where);
      if (!severity.ok()) {
        problems.push_back({.pointer = at + "/severity", .message = severity.status().message()});
      }
    }
  }
  return problems;
}

// The names given by `column` and then `columns`.
Result<std::vector<std::string>> ColumnNames(const Json& j, const std::string& where) {
  std::vector<std::string> names;
  if (j.contains("column")) {
    if (!j["column"].is_string()) {
      return Status::InvalidArgument(where + ": 'column' must be a column name, got " +
                                     j["column"].dump());
    }
    names.push_back(j["column"].get<std::string>());
  }
  if (j.contains("columns")) {
    const Json& columns = j["columns"];
    bool all_names =
        columns.is_array() && !columns.empty() &&
        std::all_of(columns.begin(), columns.end(), [](const Json& n) { return n.is_string(); });
    if (!all_names) {
      return Status::InvalidArgument(where + ": 'columns' must be a list of column names");
    }
    for (const auto& n : columns) names.push_back(n.get<std::string>());
  }
  return names;
}

// "null_rate(user_id)", "unique(user_id,event_id)", "row_count", "coverage(thumbs)"
std::string Label(std::string_view kind, const std::vector<std::string>& column_names,
                  const Json& j) {
  if (kind == "coverage" && j.contains("table") && j["table"].is_string()) {
    return fmt::format("{}({})", kind, j["table"].get<std::string>());
  }
  if (column_names.empty()) return std::string(kind);
  return fmt::format("{}({})", kind, fmt::join(column_names, ","));
}

Result<Check> ParseCheck(const Json& j, const std::vector<std::string>& header, bool dataset) {
  REEL_ASSIGN_OR_RETURN(const CheckKindEntry* kind, ParseKind(j));
  const std::string where = fmt::format("data_quality: check '{}'", kind->name);
  REEL_RETURN_IF_ERROR(CheckKeys(j, *kind, where));
  if (dataset && kind->needs_fact_table) {
    return Status::InvalidArgument(where +
                                   " needs a fact table (event times, partitions); it "
                                   "does not apply to a dataset");
  }
  REEL_ASSIGN_OR_RETURN(Severity severity, ParseSeverity(j, where));
  REEL_ASSIGN_OR_RETURN(std::vector<std::string> names, ColumnNames(j, where));
  const CheckInput in{.json = j, .where = where, .column_names = names, .header = header};
  CheckKind settings = kind->defaults;
  REEL_RETURN_IF_ERROR(std::visit([&](auto& typed) { return ParseSettings(in, typed); }, settings));
  return Check{
      .kind = std::move(settings), .severity = severity, .label = Label(kind->name, names, j)};
}

// Checks of the whole subject count nothing per row.
void Observe(const RowCountCheck&, const RowView&, Tally&) {}
void Observe(const FreshnessCheck&, const RowView&, Tally&) {}
void Observe(const VolumeChangeCheck&, const RowView&, Tally&) {}
void Observe(const CoverageCheck&, const RowView&, Tally&) {}

void Observe(const NullRateCheck& check, const RowView& row, Tally& tally) {
  if (row.IsNull(check.column)) ++tally.count;
}

void Observe(const UniqueCheck& check, const RowView& row, Tally& tally) {
  std::string key;
  for (int i : check.columns) {
    key += row.IsNull(i) ? std::string_view("\x1e") : row.Text(i);
    key += '\x1f';
  }
  if (!tally.seen.insert(std::move(key)).second) ++tally.count;
}

void Observe(const RangeCheck& check, const RowView& row, Tally& tally) {
  if (row.IsNull(check.column)) return;
  double v;
  if (!row.Number(check.column, &v) || (check.min && v < *check.min) ||
      (check.max && v > *check.max)) {
    ++tally.count;
  }
}

void Observe(const AllowedValuesCheck& check, const RowView& row, Tally& tally) {
  if (!row.IsNull(check.column) && !check.values.count(row.Text(check.column))) ++tally.count;
}

std::string FormatValue(double v) {
  return std::floor(v) == v && std::fabs(v) < 1e15 ? std::to_string(static_cast<std::int64_t>(v))
                                                   : fmt::format("{:.4g}", v);
}

Outcome Evaluate(const RowCountCheck& check, const Tally&, const SubjectStats& stats) {
  double rows = static_cast<double>(stats.rows);
  return {.value = rows,
          .passed = !(check.min && rows < *check.min) && !(check.max && rows > *check.max),
          .detail = fmt::format("{} rows (expected {}..{})", stats.rows,
                                check.min ? FormatValue(*check.min) : "",
                                check.max ? FormatValue(*check.max) : "")};
}

Outcome Evaluate(const NullRateCheck& check, const Tally& tally, const SubjectStats& stats) {
  double rate = stats.rows ? static_cast<double>(tally.count) / static_cast<double>(stats.rows) : 0;
  return {.value = rate,
          .passed = rate <= check.max,
          .detail = fmt::format("{} of {} rows null ({}, max {})", tally.count, stats.rows,
                                FormatValue(rate), FormatValue(check.max))};
}

Outcome Violations(const char* what, std::int64_t max_violations, const Tally& tally,
                   const SubjectStats& stats) {
  return {.value = static_cast<double>(tally.count),
          .passed = tally.count <= max_violations,
          .detail = fmt::format("{} {} row(s) of {} (max {})", tally.count, what, stats.rows,
                                max_violations)};
}

Outcome Evaluate(const UniqueCheck& check, const Tally& tally, const SubjectStats& stats) {
  return Violations("duplicate", check.max_violations, tally, stats);
}

Outcome Evaluate(const RangeCheck& check, const Tally& tally, const SubjectStats& stats) {
  return Violations("violating", check.max_violations, tally, stats);
}

Outcome Evaluate(const AllowedValuesCheck& check, const Tally& tally, const SubjectStats& stats) {
  return Violations("violating", check.max_violations, tally, stats);
}

Outcome Evaluate(const FreshnessCheck& check, const Tally&, const SubjectStats& stats) {
  if (!stats.age_ms) return {.passed = false, .detail = "no facts to check"};
  std::int64_t age_ms = *stats.age_ms;
  return {
      .value = static_cast<double>(age_ms) / 3.6e6,
      .passed = age_ms <= check.max_age.count(),
      .detail = fmt::format("newest fact is {} old at {} (max {})",
                            FormatDuration(Millis(std::max<std::int64_t>(age_ms, 0) / 1000 * 1000)),
                            stats.ds, FormatDuration(check.max_age))};
}

Outcome Evaluate(const VolumeChangeCheck& check, const Tally&, const SubjectStats& stats) {
  if (!stats.previous_rows || *stats.previous_rows == 0) {
    return {.detail = "no previous non-empty partition to compare with"};
  }
  double change = static_cast<double>(*stats.latest_rows - *stats.previous_rows) /
                  static_cast<double>(*stats.previous_rows);
  return {.value = change,
          .passed = std::fabs(change) <= check.max_change,
          .detail = fmt::format("{} rows vs {} the partition before ({:+.1f}%, max ±{:.0f}%)",
                                *stats.latest_rows, *stats.previous_rows, change * 100,
                                check.max_change * 100)};
}

Outcome Evaluate(const CoverageCheck& check, const Tally&, const SubjectStats& stats) {
  const std::string& table = check.table.empty() ? stats.table : check.table;
  static const std::set<std::int32_t> kNone;
  auto it = stats.partition_days.find(table);
  const std::set<std::int32_t>& present = it == stats.partition_days.end() ? kNone : it->second;
  std::vector<std::int32_t> missing;
  for (std::int32_t day = check.from; day <= check.to; ++day) {
    if (!present.count(day)) missing.push_back(day);
  }
  const std::int64_t days = std::int64_t{check.to} - check.from + 1;
  const auto n = static_cast<std::int64_t>(missing.size());
  const std::string window =
      fmt::format("{} {}..{}", table, FormatDay(check.from), FormatDay(check.to));
  Outcome out{.value = static_cast<double>(n), .passed = n <= check.max_missing_days};
  if (missing.empty()) {
    out.detail = fmt::format("all {} days present in {}", days, window);
    return out;
  }
  constexpr std::size_t kListed = 5;
  std::vector<std::string> listed;
  for (std::size_t i = 0; i < missing.size() && i < kListed; ++i) {
    listed.push_back(FormatDay(missing[i]));
  }
  out.detail = fmt::format(
      "{} of {} days missing in {} (max {}): {}{}", n, days, window, check.max_missing_days,
      fmt::join(listed, ", "),
      missing.size() > kListed ? fmt::format(", ... (and {} more)", missing.size() - kListed) : "");
  return out;
}

std::string CoverageTable(const Check& check, const std::string& step_table) {
  const auto* coverage = std::get_if<CoverageCheck>(&check.kind);
  if (!coverage) return "";
  return coverage->table.empty() ? step_table : coverage->table;
}

// `dataset` says whether the checks run on a CSV dataset (no event times, no partitions).
Result<std::vector<Check>> ParseChecks(const Json& list, const std::vector<std::string>& columns,
                                       bool dataset) {
  std::vector<Check> checks;
  for (const auto& j : list) {
    REEL_ASSIGN_OR_RETURN(Check check, ParseCheck(j, columns, dataset));
    checks.push_back(std::move(check));
  }
  return checks;
}

void Observe(const Check& check, const RowView& row, Tally& tally) {
  std::visit([&](const auto& kind) { Observe(kind, row, tally); }, check.kind);
}

Outcome Evaluate(const Check& check, const Tally& tally, const SubjectStats& stats) {
  return std::visit([&](const auto& kind) { return Evaluate(kind, tally, stats); }, check.kind);
}

}  // namespace reel::data_quality
