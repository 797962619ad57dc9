#include "operators/data_quality.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_set>
#include <variant>

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

// The settings of each kind of check. Columns are indexes into the subject's columns.
struct RowCountCheck {
  std::optional<double> min, max;  // at least one
};
struct NullRateCheck {
  int column = 0;
  double max = 0;  // share of rows
};
struct UniqueCheck {
  std::vector<int> columns;
  std::int64_t max_violations = 0;
};
struct RangeCheck {
  int column = 0;
  std::optional<double> min, max;  // at least one
  std::int64_t max_violations = 0;
};
struct AllowedValuesCheck {
  int column = 0;
  std::set<std::string, std::less<>> values;
  std::int64_t max_violations = 0;
};
struct FreshnessCheck {
  Millis max_age{0};
};
struct VolumeChangeCheck {
  double max_change = 0.5;
};

using CheckKind = std::variant<RowCountCheck, NullRateCheck, UniqueCheck, RangeCheck,
                               AllowedValuesCheck, FreshnessCheck, VolumeChangeCheck>;

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

enum class Severity { kError, kWarn };

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

struct Check {
  CheckKind kind;
  Severity severity = Severity::kError;
  std::string label;  // "null_rate(user_id)"
};

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

// "null_rate(user_id)", "unique(user_id,event_id)", "row_count"
std::string Label(std::string_view kind, const std::vector<std::string>& column_names) {
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
      .kind = std::move(settings), .severity = severity, .label = Label(kind->name, names)};
}

// What a scan counts for one check: null or violating rows, and the keys a `unique` check met.
struct Tally {
  std::int64_t count = 0;
  std::unordered_set<std::string> seen;
};

// Checks of the whole subject count nothing per row.
void Observe(const RowCountCheck&, const RowView&, Tally&) {}
void Observe(const FreshnessCheck&, const RowView&, Tally&) {}
void Observe(const VolumeChangeCheck&, const RowView&, Tally&) {}

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

// What the scan learned about the subject as a whole.
struct SubjectStats {
  std::string name;  // "table views partition 2024-03-02", "dataset <uri>"
  std::string ds;
  std::int64_t rows = 0;
  std::optional<std::int64_t> age_ms;                      // ds 00:00 minus the newest fact's time
  std::optional<std::int64_t> latest_rows, previous_rows;  // partitions, for volume_change
};

struct Outcome {
  double value = 0;  // recorded as the metric dq.<label>
  bool passed = true;
  std::string detail;
};

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

enum class Scope { kPartition, kAsOf };

// Scopes by name; the names appear nowhere else.
constexpr std::array<std::pair<Scope, std::string_view>, 2> kScopes = {{
    {Scope::kPartition, "partition"},
    {Scope::kAsOf, "as_of"},
}};

// The step's settings. The engine has applied the schema's defaults.
struct QualityConfig {
  std::string table;    // exactly one of table and dataset
  std::string dataset;  // an artifact uri or a path
  std::string ds;       // tables: the logical date
  std::int32_t day = 0;
  Scope scope = Scope::kPartition;
  std::filesystem::path db;
  Json checks;  // a non-empty list, parsed once the subject's columns are known
};

std::string StringSetting(const Json& config, const char* key) {
  auto it = config.find(key);
  return it != config.end() && it->is_string() ? it->get<std::string>() : "";
}

Result<Scope> ParseScope(const std::string& scope) {
  std::vector<std::string_view> names;
  for (const auto& [value, name] : kScopes) {
    if (scope == name) return value;
    names.push_back(name);
  }
  return Status::InvalidArgument(
      fmt::format("data_quality: scope is '{}', got '{}'", fmt::join(names, "' or '"), scope));
}

Result<QualityConfig> ParseConfig(const Context& ctx) {
  const Json& cfg = ctx.config();
  QualityConfig config;
  config.table = StringSetting(cfg, "table");
  config.dataset = StringSetting(cfg, "dataset");
  config.ds = StringSetting(cfg, "ds");
  if (config.table.empty() == config.dataset.empty()) {
    return Status::InvalidArgument(
        "data_quality: set exactly one of 'table' (a fact table) or 'dataset' (a CSV artifact)");
  }
  auto checks = cfg.find("checks");
  if (checks == cfg.end() || !checks->is_array() || checks->empty()) {
    return Status::InvalidArgument(
        "data_quality: 'checks' must be a non-empty list of {check: KIND, ...}");
  }
  config.checks = *checks;
  if (!config.dataset.empty()) return config;
  if (config.ds.empty()) {
    return Status::InvalidArgument("data_quality: checking a fact table needs 'ds' (YYYY-MM-DD)");
  }
  auto day = ParseDay(config.ds);
  if (!day.ok()) return Status::InvalidArgument("data_quality: ds: " + day.status().message());
  config.day = *day;
  REEL_ASSIGN_OR_RETURN(config.scope, ParseScope(StringSetting(cfg, "scope")));
  std::string db = StringSetting(cfg, "db");
  config.db = db.empty() ? ctx.home() / "facts.db" : std::filesystem::path(db);
  return config;
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

using RowVisitor = std::function<void(const RowView&)>;

// The rows to check: a CSV dataset or a fact table. Opening one reads its columns; Scan feeds
// every row to `visit` once and tells what it saw of the subject as a whole.
class RowSource {
 public:
  virtual ~RowSource() = default;
  virtual const std::vector<std::string>& columns() const = 0;
  virtual Result<SubjectStats> Scan(const RowVisitor& visit) = 0;
};

class DatasetSource final : public RowSource {
 public:
  static Result<std::unique_ptr<RowSource>> Open(const Context& ctx, const std::string& dataset) {
    auto path = ctx.ArtifactPath(dataset);
    if (!path.ok() && std::filesystem::is_regular_file(dataset)) {
      path = std::filesystem::path(dataset);
    }
    if (!path.ok()) {
      return Status::NotFound("data_quality: dataset '" + dataset +
                              "' is neither an artifact nor a file: " + path.status().message());
    }
    REEL_ASSIGN_OR_RETURN(std::unique_ptr<CsvReader> reader, CsvReader::Open(*path));
    std::vector<std::string> columns;
    CsvRecord header;
    if (reader->Next(header)) {
      for (auto field : header.fields) columns.emplace_back(field);
    }
    return std::unique_ptr<RowSource>(
        new DatasetSource("dataset " + dataset, std::move(reader), std::move(columns)));
  }

  const std::vector<std::string>& columns() const override { return columns_; }

  // A malformed line fails the scan with its line number.
  Result<SubjectStats> Scan(const RowVisitor& visit) override {
    SubjectStats stats;
    stats.name = name_;
    CsvRecord rec;
    while (reader_->Next(rec)) {
      if (!rec.error.empty() || rec.fields.size() != columns_.size()) {
        return Status::Failed(fmt::format(
            "data_quality: {}: line {}: {}", name_, rec.line,
            rec.error.empty()
                ? fmt::format("{} fields, the header has {}", rec.fields.size(), columns_.size())
                : rec.error));
      }
      ++stats.rows;
      visit(RowView{.csv = &rec});
    }
    REEL_RETURN_IF_ERROR(reader_->status());
    return stats;
  }

 private:
  DatasetSource(std::string name, std::unique_ptr<CsvReader> reader,
                std::vector<std::string> columns)
      : name_(std::move(name)), reader_(std::move(reader)), columns_(std::move(columns)) {}

  std::string name_;                   // "dataset <uri or path>"
  std::unique_ptr<CsvReader> reader_;  // past the header
  std::vector<std::string> columns_;
};

class TableSource final : public RowSource {
 public:
  static Result<std::unique_ptr<RowSource>> Open(const QualityConfig& config) {
    if (!std::filesystem::exists(config.db)) {
      return Status::NotFound("data_quality: no fact store at " + config.db.string() +
                              "; load facts with a fact_snapshot step first");
    }
    REEL_ASSIGN_OR_RETURN(std::unique_ptr<FactStore> store, FactStore::Open(config.db, false));
    auto info = store->Table(config.table);
    if (!info.ok()) return Status::NotFound("data_quality: " + info.status().message());
    return std::unique_ptr<RowSource>(new TableSource(config, std::move(store), *info));
  }

  const std::vector<std::string>& columns() const override { return columns_; }

  // Reads the latest partition before ds, or everything visible at ds; nothing at or after ds.
  Result<SubjectStats> Scan(const RowVisitor& visit) override {
    REEL_ASSIGN_OR_RETURN(std::vector<PartitionInfo> partitions, store_->Partitions(table_));
    std::vector<PartitionInfo> before;
    for (const auto& p : partitions) {
      if (p.day < day_) before.push_back(p);
    }
    if (before.empty()) {
      return Status::Failed("data_quality: fact table '" + table_ + "' has no partition before " +
                            ds_ + "; snapshot it first");
    }
    const PartitionInfo& latest = before.back();
    SubjectStats stats;
    stats.ds = ds_;
    stats.latest_rows = latest.rows;
    if (before.size() >= 2) stats.previous_rows = before[before.size() - 2].rows;

    std::optional<std::int64_t> newest_ms;
    auto visit_fact = [&](const FactRow& row) {
      ++stats.rows;
      if (is_event_) newest_ms = std::max(newest_ms.value_or(INT64_MIN), row.TimeMs());
      visit(RowView{.fact = &row, .text_columns = &text_columns_});
      return true;
    };
    if (scope_ == Scope::kPartition) {
      stats.name = "table " + table_ + " partition " + latest.ds;
      REEL_RETURN_IF_ERROR(store_->ScanPartition(table_, latest.ds, visit_fact));
    } else {
      stats.name = "table " + table_ + " as of " + ds_;
      REEL_RETURN_IF_ERROR(
          store_->AsOf(table_, FactTime(std::chrono::milliseconds(DayStartMs(day_))), visit_fact));
    }
    // A state partition is as fresh as the end of its day.
    if (!is_event_) newest_ms = DayStartMs(latest.day + 1);
    if (newest_ms) stats.age_ms = DayStartMs(day_) - *newest_ms;
    return stats;
  }

 private:
  TableSource(const QualityConfig& config, std::unique_ptr<FactStore> store,
              const FactTableInfo& info)
      : table_(config.table),
        ds_(config.ds),
        day_(config.day),
        scope_(config.scope),
        store_(std::move(store)),
        is_event_(info.kind == FactKind::kEvent) {
    for (const auto& column : info.schema.columns) {
      columns_.push_back(column.name);
      text_columns_.push_back(column.type == ColumnType::kString);
    }
  }

  std::string table_, ds_;
  std::int32_t day_;
  Scope scope_;
  std::unique_ptr<FactStore> store_;
  bool is_event_;  // event times say how fresh the facts are
  std::vector<std::string> columns_;
  std::vector<bool> text_columns_;
};

Result<std::unique_ptr<RowSource>> OpenSource(const Context& ctx, const QualityConfig& config) {
  return config.dataset.empty() ? TableSource::Open(config)
                                : DatasetSource::Open(ctx, config.dataset);
}

struct Report {
  Json results = Json::array();                 // {check, value, passed, severity, detail}
  std::vector<std::string> failures, warnings;  // "label: detail"
};

// Evaluates every check, recording its metrics and a log line.
Report EvaluateChecks(Context& ctx, const std::vector<Check>& checks,
                      const std::vector<Tally>& tallies, const SubjectStats& stats) {
  Report report;
  for (std::size_t i = 0; i < checks.size(); ++i) {
    const Check& check = checks[i];
    auto [value, passed, detail] =
        std::visit([&](const auto& kind) { return Evaluate(kind, tallies[i], stats); }, check.kind);
    ctx.LogMetric("dq." + check.label, value);
    ctx.LogMetric("dq." + check.label + ".passed", passed ? 1 : 0);
    report.results.push_back({{"check", check.label},
                              {"value", value},
                              {"passed", passed},
                              {"severity", SeverityName(check.severity)},
                              {"detail", detail}});
    std::string line = check.label + ": " + detail;
    if (passed) {
      ctx.Info("ok   {}", line);
    } else if (check.severity == Severity::kWarn) {
      ctx.Warn("WARN {}", line);
      report.warnings.push_back(line);
    } else {
      ctx.Error("FAIL {}", line);
      report.failures.push_back(line);
    }
  }
  return report;
}

// Sets the outputs; fails the step, with every failure and warning, when an error check failed.
Status Publish(Context& ctx, const Report& report, const SubjectStats& stats,
               std::size_t check_count) {
  ctx.LogMetric("dq.rows", static_cast<double>(stats.rows));
  ctx.SetOutput("results", report.results);
  ctx.SetOutput("rows", stats.rows);
  ctx.SetOutput("passed", report.failures.empty());
  ctx.SetOutput("failures", report.failures);
  ctx.SetOutput("warnings", report.warnings);
  if (report.failures.empty()) return Status::Ok();
  std::string message = fmt::format("data quality failed on {}: {} of {} checks failed", stats.name,
                                    report.failures.size(), check_count);
  for (const auto& f : report.failures) message += "\n  FAIL " + f;
  for (const auto& w : report.warnings) message += "\n  WARN " + w;
  return Status::Failed(message);
}

}  // namespace

OperatorInfo DataQualityOperator::Info() {
  OperatorInfo info;
  info.name = "data_quality";
  info.description =
      "Checks a fact table (as of ds) or a CSV dataset: row counts, null rates, uniqueness, "
      "ranges, allowed values, freshness and volume change; every result is a metric.";
  info.config = {
      {.name = "ds",
       .type = ConfigType::kString,
       .description = "the logical date YYYY-MM-DD (fact tables)"},
      {.name = "table", .type = ConfigType::kString, .description = "a fact table to check"},
      {.name = "dataset",
       .type = ConfigType::kString,
       .description = "or: a CSV artifact uri (or path) to check"},
      {.name = "scope",
       .type = ConfigType::kString,
       .default_value = "partition",
       .description = "fact tables: 'partition' (the latest partition before ds) or 'as_of' (all "
                      "rows visible at ds)"},
      {.name = "checks",
       .type = ConfigType::kList,
       .required = true,
       .description = fmt::format(
           "[{{check: {}, column(s), min, max, values, max_violations, max_age, max_change, "
           "severity: {}}}]",
           fmt::join(CheckKindNames(), "|"), fmt::join(SeverityNames(), "|"))},
      {.name = "db",
       .type = ConfigType::kString,
       .description = "fact store file (default <home>/facts.db)"},
  };
  info.example =
      "quality:\n  operator: data_quality\n  with:\n    ds: \"{{ params.ds }}\"\n"
      "    table: viewing_history\n    checks:\n      - {check: row_count, min: 1000}\n"
      "      - {check: null_rate, column: user_id, max: 0}\n"
      "      - {check: volume_change, max_change: 0.5, severity: warn}\n";
  return info;
}

Status DataQualityOperator::Execute(Context& ctx) {
  REEL_ASSIGN_OR_RETURN(QualityConfig config, ParseConfig(ctx));
  REEL_ASSIGN_OR_RETURN(std::unique_ptr<RowSource> source, OpenSource(ctx, config));
  // Mistakes in the checks are reported before any row is read.
  REEL_ASSIGN_OR_RETURN(std::vector<Check> checks,
                        ParseChecks(config.checks, source->columns(), !config.dataset.empty()));
  std::vector<Tally> tallies(checks.size());
  REEL_ASSIGN_OR_RETURN(SubjectStats stats, source->Scan([&](const RowView& row) {
    for (std::size_t i = 0; i < checks.size(); ++i) {
      std::visit([&](const auto& kind) { Observe(kind, row, tallies[i]); }, checks[i].kind);
    }
  }));
  Report report = EvaluateChecks(ctx, checks, tallies, stats);
  return Publish(ctx, report, stats, checks.size());
}

}  // namespace reel
