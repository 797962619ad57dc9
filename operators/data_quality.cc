#include "operators/data_quality.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
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
#include "operators/data_quality_checks.h"

namespace reel {
namespace {

using namespace data_quality;

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

using RowVisitor = std::function<void(const RowView&)>;

// The rows to check: a CSV dataset or a fact table. Opening one reads its columns; Scan feeds
// every row to `visit` once and tells what it saw of the subject as a whole.
class RowSource {
 public:
  virtual ~RowSource() = default;
  virtual const std::vector<std::string>& columns() const = 0;
  virtual Result<SubjectStats> Scan(const RowVisitor& visit) = 0;
  // The days with a partition of fact table `table` (fact tables only).
  virtual Result<std::set<std::int32_t>> PartitionDays(const std::string& table) = 0;
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

  Result<std::set<std::int32_t>> PartitionDays(const std::string&) override {
    return Status::InvalidArgument("data_quality: a dataset has no partitions");
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
    stats.table = table_;
    return stats;
  }

  Result<std::set<std::int32_t>> PartitionDays(const std::string& table) override {
    auto partitions = store_->Partitions(table);
    if (!partitions.ok()) {
      return Status::NotFound("data_quality: check 'coverage': " + partitions.status().message());
    }
    std::set<std::int32_t> days;
    for (const auto& p : *partitions) days.insert(p.day);
    return days;
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
    auto [value, passed, detail] = Evaluate(check, tallies[i], stats);
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
      "ranges, allowed values, freshness, volume change and partition coverage; every result is "
      "a metric.";
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
           "table, from, to, max_missing_days, severity: {}}}]",
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
  info.validate = data_quality::ValidateChecks;
  info.declares_outputs = true;
  info.outputs = {
      {.name = "results",
       .type = ConfigType::kList,
       .description = "one {check, value, passed, severity, detail} per check"},
      {.name = "rows", .type = ConfigType::kInt, .description = "rows checked"},
      {.name = "passed",
       .type = ConfigType::kBool,
       .description = "no check of severity error failed"},
      {.name = "failures",
       .type = ConfigType::kList,
       .description = "\"label: detail\" of each failed error check"},
      {.name = "warnings",
       .type = ConfigType::kList,
       .description = "\"label: detail\" of each failed warn check"},
  };
  return info;
}

Status DataQualityOperator::Execute(Context& ctx) {
  REEL_ASSIGN_OR_RETURN(QualityConfig config, ParseConfig(ctx));
  REEL_ASSIGN_OR_RETURN(std::unique_ptr<RowSource> source, OpenSource(ctx, config));
  // Mistakes in the checks are reported before any row is read.
  REEL_ASSIGN_OR_RETURN(std::vector<Check> checks,
                        ParseChecks(config.checks, source->columns(), !config.dataset.empty()));
  // The partitions coverage checks look at; an unknown table fails before any row is read.
  std::map<std::string, std::set<std::int32_t>, std::less<>> partition_days;
  for (const Check& check : checks) {
    const std::string table = CoverageTable(check, config.table);
    if (table.empty() || partition_days.count(table)) continue;
    REEL_ASSIGN_OR_RETURN(partition_days[table], source->PartitionDays(table));
  }
  std::vector<Tally> tallies(checks.size());
  REEL_ASSIGN_OR_RETURN(SubjectStats stats, source->Scan([&](const RowView& row) {
    for (std::size_t i = 0; i < checks.size(); ++i) {
      Observe(checks[i], row, tallies[i]);
    }
  }));
  stats.partition_days = std::move(partition_days);
  Report report = EvaluateChecks(ctx, checks, tallies, stats);
  return Publish(ctx, report, stats, checks.size());
}

}  // namespace reel
