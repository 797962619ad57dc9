#include "operators/fact_snapshot.h"

#include <unistd.h>

#include <chrono>
#include <map>
#include <random>

#include "facts/fact_store.h"
#include "facts/source.h"
#include "facts/staging.h"

namespace reel {
namespace {

constexpr int kMaxBadRowsShown = 10;
constexpr int kMaxDays = 36600;  // a century of daily partitions

struct SnapshotConfig {
  FactSourceOptions source;
  std::string table;
  FactKind kind = FactKind::kEvent;
  std::int32_t from = 0, to = 0;  // inclusive day range; from == to for `ds`
  bool range = false;
  bool overwrite = false;
  std::int64_t max_bad_rows = 0;
  std::filesystem::path db;
  std::size_t staging_bytes = 0;
};

// What one pass over the source found.
struct ReadCounts {
  std::int64_t rows = 0, bad = 0, out_of_range = 0;
  std::string first_bad;  // the error of the first bad row
};

// What writing the partitions did.
struct WriteCounts {
  Json partitions = Json::array();  // {ds, rows, action, content_hash} per day
  std::int64_t rows = 0, written = 0, unchanged = 0, overwritten = 0, empty_days = 0;
  std::int64_t stored() const { return written + unchanged + overwritten; }
};

Status Bad(const std::string& message) {
  return Status::InvalidArgument("fact_snapshot: " + message);
}

Result<std::string> GetString(const Json& config, const char* key, bool required) {
  if (!config.contains(key) || config[key].is_null()) {
    if (required) return Bad(fmt::format("`{}` is required", key));
    return std::string();
  }
  if (!config[key].is_string()) return Bad(fmt::format("`{}` must be a string", key));
  return config[key].get<std::string>();
}

// `source` and `format`.
Status ParseSource(const Json& c, FactSourceOptions* source) {
  REEL_ASSIGN_OR_RETURN(const std::string path, GetString(c, "source", true));
  source->path = std::filesystem::absolute(path);
  REEL_ASSIGN_OR_RETURN(const std::string format, GetString(c, "format", false));
  auto parsed = format.empty() ? SourceFormatFromName(source->path) : ParseSourceFormat(format);
  if (!parsed.ok()) return Bad(parsed.status().message());
  source->format = *parsed;
  return Status::Ok();
}

// `columns` (renames), `types` and `timestamp`.
Status ParseColumns(const Json& c, FactSourceOptions* source) {
  if (c.contains("columns") && !c["columns"].is_null()) {
    if (!c["columns"].is_object()) {
      return Bad("`columns` must be a map from source column to fact column");
    }
    for (const auto& [from, to] : c["columns"].items()) {
      if (!to.is_string()) return Bad(fmt::format("columns.{} must be a string", from));
      source->renames[from] = to.get<std::string>();
    }
  }
  if (c.contains("types") && !c["types"].is_null()) {
    if (!c["types"].is_object()) {
      return Bad("`types` must be a map from column to int|float|string");
    }
    for (const auto& [col, type] : c["types"].items()) {
      auto t = type.is_string() ? ParseColumnType(type.get<std::string>())
                                : Result<ColumnType>(Status::InvalidArgument("not a string"));
      if (!t.ok() || *t == ColumnType::kTimestamp) {
        return Bad(fmt::format("types.{}: use int, float or string", col));
      }
      source->types[col] = *t;
    }
  }
  if (c.contains("timestamp") && !c["timestamp"].is_null()) {
    const Json& ts = c["timestamp"];
    if (!ts.is_object() || !ts.contains("column") || !ts["column"].is_string()) {
      return Bad("`timestamp` must be a map: {column: NAME, format: epoch_s|epoch_ms|iso8601}");
    }
    source->timestamp_column = ts["column"].get<std::string>();
    auto format = ParseTimestampFormat(ts.value("format", "iso8601"));
    if (!format.ok()) return Bad("timestamp.format: " + format.status().message());
    source->timestamp_format = *format;
  }
  return Status::Ok();
}

// `ds`, or `from` and `to`, into cfg's day range.
Status ParseDays(const Json& c, SnapshotConfig* cfg) {
  auto ds = GetString(c, "ds", false);
  auto from = GetString(c, "from", false);
  auto to = GetString(c, "to", false);
  for (const auto* r : {&ds, &from, &to}) {
    if (!r->ok()) return r->status();
  }
  if (!ds->empty()) {
    if (!from->empty() || !to->empty()) return Bad("give either `ds` or `from`/`to`, not both");
    auto d = ParseDay(*ds);
    if (!d.ok()) return Bad("ds: " + d.status().message());
    cfg->from = cfg->to = *d;
    return Status::Ok();
  }
  if (from->empty() || to->empty()) {
    return Bad("give the day to load as `ds: YYYY-MM-DD`, or a range as `from:` and `to:`");
  }
  auto f = ParseDay(*from);
  if (!f.ok()) return Bad("from: " + f.status().message());
  auto t = ParseDay(*to);
  if (!t.ok()) return Bad("to: " + t.status().message());
  if (*t < *f) return Bad(fmt::format("`to` ({}) is before `from` ({})", *to, *from));
  if (*t - *f >= kMaxDays) return Bad(fmt::format("the range spans more than {} days", kMaxDays));
  cfg->from = *f;
  cfg->to = *t;
  cfg->range = true;
  if (cfg->kind == FactKind::kState && cfg->source.timestamp_column.empty()) {
    return Bad("a state range (`from`/`to`) needs `timestamp:` naming the snapshot day column");
  }
  return Status::Ok();
}

// The config after the engine applied the schema: keys with a default are always present.
Result<SnapshotConfig> ParseConfig(Context& ctx) {
  const Json& c = ctx.config();
  SnapshotConfig cfg;
  REEL_RETURN_IF_ERROR(ParseSource(c, &cfg.source));
  REEL_ASSIGN_OR_RETURN(cfg.table, GetString(c, "table", true));
  if (Status s = ValidateFactTableName(cfg.table); !s.ok()) return Bad(s.message());
  REEL_ASSIGN_OR_RETURN(const std::string kind, GetString(c, "kind", true));
  auto parsed_kind = ParseFactKind(kind);
  if (!parsed_kind.ok()) return Bad(parsed_kind.status().message());
  cfg.kind = *parsed_kind;
  REEL_RETURN_IF_ERROR(ParseColumns(c, &cfg.source));
  if (cfg.kind == FactKind::kEvent && cfg.source.timestamp_column.empty()) {
    return Bad("an event table needs `timestamp: {column: NAME, format: ...}` (the event time)");
  }
  REEL_RETURN_IF_ERROR(ParseDays(c, &cfg));
  cfg.overwrite = c.at("overwrite").get<bool>();
  cfg.max_bad_rows = c.at("max_bad_rows").get<std::int64_t>();
  if (cfg.max_bad_rows < 0) return Bad("`max_bad_rows` must be >= 0");
  REEL_ASSIGN_OR_RETURN(const std::string db, GetString(c, "db", false));
  cfg.db = db.empty() ? ctx.home() / "facts.db" : std::filesystem::absolute(db);
  const std::int64_t mb = c.at("staging_memory_mb").get<std::int64_t>();
  if (mb < 1) return Bad("`staging_memory_mb` must be >= 1");
  cfg.staging_bytes = static_cast<std::size_t>(mb) << 20;
  return cfg;
}

std::filesystem::path StagingDir(Context& ctx) {
  std::random_device rd;
  return ctx.work_dir() / fmt::format("fact_snapshot-staging-{}-{:08x}", getpid(), rd());
}

Result<std::unique_ptr<FactSource>> OpenSource(const SnapshotConfig& cfg) {
  auto source = FactSource::Open(cfg.source);
  if (source.ok()) return source;
  const std::string& message = source.status().message();
  return source.status().code() == Status::Code::kIoError
             ? Status::IoError("fact_snapshot: " + message)
             : Bad(message);
}

// Reads the source once, routing each usable row to its day; bad rows are counted and the first
// few logged, rows outside the day range counted.
Result<ReadCounts> StageRows(Context& ctx, const SnapshotConfig& cfg, FactSource& source,
                             DayStaging& staging) {
  const std::string source_name = cfg.source.path.string();
  const int time_index = source.schema().time_index();
  const bool route_by_time = cfg.kind == FactKind::kEvent || cfg.range;
  ReadCounts read;
  SourceRow row;
  while (source.Next(row)) {
    ++read.rows;
    if ((read.rows & 0xFFFF) == 0 && ctx.cancellation().cancelled()) {
      return Status::Cancelled("fact_snapshot cancelled while reading " + source_name);
    }
    if (row.bad) {
      ++read.bad;
      if (read.first_bad.empty()) read.first_bad = row.error;
      if (read.bad <= kMaxBadRowsShown) {
        ctx.Warn("fact_snapshot: {}: bad row: {}", source_name, row.error);
      }
      continue;
    }
    const std::int32_t day = route_by_time ? DayOfMs(row.time_ms) : cfg.from;
    if (day < cfg.from || day > cfg.to) {
      ++read.out_of_range;
      continue;
    }
    REEL_RETURN_IF_ERROR(staging.Add(day, row.encoded, time_index >= 0 ? row.time_ms : 0));
  }
  if (!source.status().ok()) {
    return Status::IoError("fact_snapshot: " + source.status().message());
  }
  return read;
}

// Logs the bad rows' tally; more than max_bad_rows fails the step before anything is written.
Status CheckBadRows(Context& ctx, const SnapshotConfig& cfg, const ReadCounts& read) {
  const std::string source_name = cfg.source.path.string();
  if (read.bad > kMaxBadRowsShown) {
    ctx.Warn("fact_snapshot: {}: {} more bad rows not shown", source_name,
             read.bad - kMaxBadRowsShown);
  }
  ctx.LogMetric("bad_rows", static_cast<double>(read.bad));
  if (read.bad > cfg.max_bad_rows) {
    return Status::Failed(fmt::format(
        "fact_snapshot: {} bad row{} in {} (max_bad_rows: {}); the first: {}. Nothing was "
        "written: fix the source, or raise max_bad_rows to skip them",
        read.bad, read.bad == 1 ? "" : "s", source_name, cfg.max_bad_rows, read.first_bad));
  }
  if (read.bad > 0) {
    ctx.Warn("fact_snapshot: skipped {} bad rows (max_bad_rows: {})", read.bad, cfg.max_bad_rows);
  }
  return Status::Ok();
}

// Adds one day's outcome to the counts; an overwrite is also recorded as a run event.
void Tally(Context& ctx, const SnapshotConfig& cfg, const std::string& ds,
           const WriteOutcome& outcome, WriteCounts* wrote) {
  switch (outcome.action) {
    case WriteOutcome::Action::kWritten:
      ++wrote->written;
      wrote->rows += outcome.rows;
      break;
    case WriteOutcome::Action::kUnchanged:
      ++wrote->unchanged;
      break;
    case WriteOutcome::Action::kOverwritten:
      ++wrote->overwritten;
      wrote->rows += outcome.rows;
      ctx.RecordEvent("facts.partition_overwritten", {{"table", cfg.table},
                                                      {"ds", ds},
                                                      {"rows", outcome.rows},
                                                      {"content_hash", outcome.content_hash}});
      break;
  }
  wrote->partitions.push_back({{"ds", ds},
                               {"rows", outcome.rows},
                               {"action", WriteActionName(outcome.action)},
                               {"content_hash", outcome.content_hash}});
}

// Writes every day of the range as one partition, empty days included.
Result<WriteCounts> WritePartitions(Context& ctx, const SnapshotConfig& cfg,
                                    const FactSchema& schema, DayStaging& staging) {
  REEL_ASSIGN_OR_RETURN(std::unique_ptr<FactStore> store, FactStore::Open(cfg.db));
  WriteCounts wrote;
  for (std::int32_t day = cfg.from; day <= cfg.to; ++day) {
    if (ctx.cancellation().cancelled()) {
      return Status::Cancelled(fmt::format("fact_snapshot cancelled before {}", FormatDay(day)));
    }
    REEL_ASSIGN_OR_RETURN(const FactRows rows, staging.Take(day));
    const PartitionWrite w{.table = cfg.table,
                           .kind = cfg.kind,
                           .ds = FormatDay(day),
                           .schema = schema,
                           .overwrite = cfg.overwrite,
                           .run_id = ctx.run_id()};
    auto outcome = store->WritePartition(w, rows);
    if (!outcome.ok()) {
      const std::string done = wrote.stored() == 0
                                   ? ""
                                   : fmt::format(
                                         " ({} earlier partitions of this step were stored; "
                                         "rerunning after the fix leaves them unchanged)",
                                         wrote.stored());
      const std::string message = "fact_snapshot: " + outcome.status().message() + done;
      return outcome.status().code() == Status::Code::kConflict ? Status::Conflict(message)
                                                                : Status::IoError(message);
    }
    if (rows.empty()) ++wrote.empty_days;
    Tally(ctx, cfg, w.ds, *outcome, &wrote);
  }
  if (wrote.empty_days > 0) {
    ctx.Warn("fact_snapshot: {} of {} days had no rows in {}", wrote.empty_days,
             cfg.to - cfg.from + 1, cfg.source.path.string());
  }
  return wrote;
}

void Publish(Context& ctx, const SnapshotConfig& cfg, const ReadCounts& read,
             const WriteCounts& wrote, double seconds) {
  ctx.Info(
      "fact_snapshot: {} rows read from {}, {} partitions of '{}' ({} written, {} "
      "unchanged, {} overwritten), {} rows outside {}..{} ignored, {:.2f}s",
      read.rows, cfg.source.path.string(), wrote.partitions.size(), cfg.table, wrote.written,
      wrote.unchanged, wrote.overwritten, read.out_of_range, FormatDay(cfg.from), FormatDay(cfg.to),
      seconds);
  ctx.SetOutput("table", cfg.table);
  ctx.SetOutput("db", cfg.db.string());
  ctx.SetOutput("from", FormatDay(cfg.from));
  ctx.SetOutput("to", FormatDay(cfg.to));
  ctx.SetOutput("partitions", wrote.partitions);
  ctx.SetOutput("rows_read", read.rows);
  ctx.SetOutput("rows_written", wrote.rows);
  ctx.SetOutput("bad_rows", read.bad);
  ctx.SetOutput("rows_out_of_range", read.out_of_range);
  ctx.SetOutput("partitions_written", wrote.written);
  ctx.SetOutput("partitions_unchanged", wrote.unchanged);
  ctx.SetOutput("partitions_overwritten", wrote.overwritten);
  ctx.LogMetric("rows_written", static_cast<double>(wrote.rows));
  ctx.LogMetric("rows_read", static_cast<double>(read.rows));
  ctx.LogMetric("partitions_written", static_cast<double>(wrote.written + wrote.overwritten));
}

}  // namespace

OperatorInfo FactSnapshotOperator::Info() {
  OperatorInfo info{
      .name = "fact_snapshot",
      .description =
          "Copies a CSV or JSON Lines file into the fact store, one immutable partition per UTC "
          "day (a day `ds`, or a range `from`..`to`). Rewriting a partition with the same "
          "content is a no-op; different content fails unless `overwrite: true`.",
      .config =
          {
              {.name = "source",
               .type = ConfigType::kString,
               .required = true,
               .description =
                   "the file to load (relative paths resolve against the current folder)"},
              {.name = "format",
               .type = ConfigType::kString,
               .description = "csv or jsonl (default: from the file extension)"},
              {.name = "table",
               .type = ConfigType::kString,
               .required = true,
               .description = "the fact table to write"},
              {.name = "kind",
               .type = ConfigType::kString,
               .default_value = "event",
               .description = "event (partition D: events on day D) or state (partition D: full "
                              "state at end of D)"},
              {.name = "columns",
               .type = ConfigType::kMap,
               .description = "renames: source column -> fact column"},
              {.name = "types",
               .type = ConfigType::kMap,
               .description = "column types: fact column -> int | float | string (default string)"},
              {.name = "timestamp",
               .type = ConfigType::kMap,
               .description = "{column, format: epoch_s | epoch_ms | iso8601}; required for "
                              "events"},
              {.name = "ds",
               .type = ConfigType::kString,
               .description = "the one day to load (YYYY-MM-DD)"},
              {.name = "from",
               .type = ConfigType::kString,
               .description = "first day of a range (inclusive)"},
              {.name = "to",
               .type = ConfigType::kString,
               .description = "last day of a range (inclusive)"},
              {.name = "overwrite",
               .type = ConfigType::kBool,
               .default_value = false,
               .description =
                   "replace partitions whose content differs (recorded in partition_events)"},
              {.name = "max_bad_rows",
               .type = ConfigType::kInt,
               .default_value = 0,
               .description =
                   "how many unusable rows to tolerate (skipped and logged) before failing"},
              {.name = "db",
               .type = ConfigType::kString,
               .description = "fact store file (default <home>/facts.db)"},
              {.name = "staging_memory_mb",
               .type = ConfigType::kInt,
               .default_value = 128,
               .description = "rows buffered in memory before spilling to the task's work folder"},
          },
      .example =
          "snapshot:\n"
          "  operator: fact_snapshot\n"
          "  with:\n"
          "    source: data/viewing_history.csv\n"
          "    table: viewing_history\n"
          "    kind: event\n"
          "    timestamp: {column: event_time, format: iso8601}\n"
          "    types: {event_id: int, user_id: int, item_id: int, watch_seconds: int}\n"
          "    ds: \"{{ params.ds }}\"\n",
  };
  info.declares_outputs = true;
  info.outputs = {
      {.name = "table", .type = ConfigType::kString, .description = "the fact table written"},
      {.name = "db", .type = ConfigType::kString, .description = "the fact store file"},
      {.name = "from",
       .type = ConfigType::kString,
       .description = "the first day loaded, YYYY-MM-DD"},
      {.name = "to", .type = ConfigType::kString, .description = "the last day loaded, YYYY-MM-DD"},
      {.name = "partitions",
       .type = ConfigType::kList,
       .description = "{ds, rows, action, content_hash} per day"},
      {.name = "rows_read", .type = ConfigType::kInt, .description = "rows read from the source"},
      {.name = "rows_written", .type = ConfigType::kInt, .description = "rows stored"},
      {.name = "bad_rows",
       .type = ConfigType::kInt,
       .description = "rows that could not be parsed"},
      {.name = "rows_out_of_range",
       .type = ConfigType::kInt,
       .description = "rows outside the days loaded"},
      {.name = "partitions_written", .type = ConfigType::kInt, .description = "partitions written"},
      {.name = "partitions_unchanged",
       .type = ConfigType::kInt,
       .description = "partitions already stored with the same content"},
      {.name = "partitions_overwritten",
       .type = ConfigType::kInt,
       .description = "partitions replaced (overwrite: true)"},
  };
  return info;
}

Status FactSnapshotOperator::Execute(Context& ctx) {
  REEL_ASSIGN_OR_RETURN(const SnapshotConfig cfg, ParseConfig(ctx));
  const auto start = std::chrono::steady_clock::now();
  REEL_ASSIGN_OR_RETURN(std::unique_ptr<FactSource> source, OpenSource(cfg));
  DayStaging staging(StagingDir(ctx), cfg.staging_bytes);
  REEL_ASSIGN_OR_RETURN(const ReadCounts read, StageRows(ctx, cfg, *source, staging));
  REEL_RETURN_IF_ERROR(CheckBadRows(ctx, cfg, read));
  REEL_ASSIGN_OR_RETURN(const WriteCounts wrote,
                        WritePartitions(ctx, cfg, source->schema(), staging));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Publish(ctx, cfg, read, wrote, seconds);
  return Status::Ok();
}

}  // namespace reel
