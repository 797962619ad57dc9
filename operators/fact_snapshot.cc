#include "operators/fact_snapshot.h"

#include <unistd.h>

#include <chrono>
#include <map>
#include <random>

#include "facts/source.h"
#include "facts/staging.h"
#include "facts/fact_store.h"

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

Result<SnapshotConfig> ParseConfig(Context& ctx) {
  const Json& c = ctx.config();
  SnapshotConfig cfg;
  auto source = GetString(c, "source", true);
  if (!source.ok()) return source.status();
  cfg.source.path = std::filesystem::absolute(*source);

  auto format = GetString(c, "format", false);
  if (!format.ok()) return format.status();
  auto fmt_or =
      format->empty() ? SourceFormatFromName(cfg.source.path) : ParseSourceFormat(*format);
  if (!fmt_or.ok()) return Bad(fmt_or.status().message());
  cfg.source.format = *fmt_or;

  auto table = GetString(c, "table", true);
  if (!table.ok()) return table.status();
  if (Status s = ValidateFactTableName(*table); !s.ok()) return Bad(s.message());
  cfg.table = *table;

  auto kind = GetString(c, "kind", false);
  if (!kind.ok()) return kind.status();
  if (!kind->empty()) {
    auto k = ParseFactKind(*kind);
    if (!k.ok()) return Bad(k.status().message());
    cfg.kind = *k;
  }

  if (c.contains("columns") && !c["columns"].is_null()) {
    if (!c["columns"].is_object()) {
      return Bad("`columns` must be a map from source column to fact column");
    }
    for (const auto& [from, to] : c["columns"].items()) {
      if (!to.is_string()) return Bad(fmt::format("columns.{} must be a string", from));
      cfg.source.renames[from] = to.get<std::string>();
    }
  }
  if (c.contains("types") && !c["types"].is_null()) {
    if (!c["types"].is_object())
      return Bad("`types` must be a map from column to int|float|string");
    for (const auto& [col, type] : c["types"].items()) {
      auto t = type.is_string() ? ParseColumnType(type.get<std::string>())
                                : Result<ColumnType>(Status::InvalidArgument("not a string"));
      if (!t.ok() || *t == ColumnType::kTimestamp) {
        return Bad(fmt::format("types.{}: use int, float or string", col));
      }
      cfg.source.types[col] = *t;
    }
  }
  if (c.contains("timestamp") && !c["timestamp"].is_null()) {
    const Json& ts = c["timestamp"];
    if (!ts.is_object() || !ts.contains("column") || !ts["column"].is_string()) {
      return Bad("`timestamp` must be a map: {column: NAME, format: epoch_s|epoch_ms|iso8601}");
    }
    cfg.source.timestamp_column = ts["column"].get<std::string>();
    std::string f = ts.value("format", "iso8601");
    auto tf = ParseTimestampFormat(f);
    if (!tf.ok()) return Bad("timestamp.format: " + tf.status().message());
    cfg.source.timestamp_format = *tf;
  }
  if (cfg.kind == FactKind::kEvent && cfg.source.timestamp_column.empty()) {
    return Bad("an event table needs `timestamp: {column: NAME, format: ...}` (the event time)");
  }

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
    cfg.from = cfg.to = *d;
  } else {
    if (from->empty() || to->empty()) {
      return Bad("give the day to load as `ds: YYYY-MM-DD`, or a range as `from:` and `to:`");
    }
    auto f = ParseDay(*from);
    if (!f.ok()) return Bad("from: " + f.status().message());
    auto t = ParseDay(*to);
    if (!t.ok()) return Bad("to: " + t.status().message());
    if (*t < *f) return Bad(fmt::format("`to` ({}) is before `from` ({})", *to, *from));
    if (*t - *f >= kMaxDays) return Bad(fmt::format("the range spans more than {} days", kMaxDays));
    cfg.from = *f;
    cfg.to = *t;
    cfg.range = true;
    if (cfg.kind == FactKind::kState && cfg.source.timestamp_column.empty()) {
      return Bad("a state range (`from`/`to`) needs `timestamp:` naming the snapshot day column");
    }
  }
  cfg.overwrite = c.value("overwrite", false);
  cfg.max_bad_rows = c.value("max_bad_rows", std::int64_t{0});
  if (cfg.max_bad_rows < 0) return Bad("`max_bad_rows` must be >= 0");
  auto db = GetString(c, "db", false);
  if (!db.ok()) return db.status();
  cfg.db = db->empty() ? ctx.home() / "facts.db" : std::filesystem::absolute(*db);
  std::int64_t mb = c.value("staging_memory_mb", std::int64_t{128});
  if (mb < 1) return Bad("`staging_memory_mb` must be >= 1");
  cfg.staging_bytes = static_cast<std::size_t>(mb) << 20;
  return cfg;
}

std::filesystem::path StagingDir(Context& ctx) {
  std::random_device rd;
  return ctx.work_dir() / fmt::format("fact_snapshot-staging-{}-{:08x}", getpid(), rd());
}

}  // namespace

OperatorInfo FactSnapshotOperator::Info() {
  OperatorInfo info;
  info.name = "fact_snapshot";
  info.description =
      "Copies a CSV or JSON Lines file into the fact store, one immutable partition per UTC "
      "day (a day `ds`, or a range `from`..`to`). Rewriting a partition with the same content "
      "is a no-op; different content fails unless `overwrite: true`.";
  info.config = {
      {"source", ConfigType::kString, true, nullptr,
       "the file to load (relative paths resolve against the current folder)"},
      {"format", ConfigType::kString, false, nullptr,
       "csv or jsonl (default: from the file extension)"},
      {"table", ConfigType::kString, true, nullptr, "the fact table to write"},
      {"kind", ConfigType::kString, false, "event",
       "event (partition D: events on day D) or state (partition D: full state at end of D)"},
      {"columns", ConfigType::kMap, false, nullptr, "renames: source column -> fact column"},
      {"types", ConfigType::kMap, false, nullptr,
       "column types: fact column -> int | float | string (default string)"},
      {"timestamp", ConfigType::kMap, false, nullptr,
       "{column, format: epoch_s | epoch_ms | iso8601}; required for events"},
      {"ds", ConfigType::kString, false, nullptr, "the one day to load (YYYY-MM-DD)"},
      {"from", ConfigType::kString, false, nullptr, "first day of a range (inclusive)"},
      {"to", ConfigType::kString, false, nullptr, "last day of a range (inclusive)"},
      {"overwrite", ConfigType::kBool, false, false,
       "replace partitions whose content differs (recorded in partition_events)"},
      {"max_bad_rows", ConfigType::kInt, false, 0,
       "how many unusable rows to tolerate (skipped and logged) before failing"},
      {"db", ConfigType::kString, false, nullptr, "fact store file (default <home>/facts.db)"},
      {"staging_memory_mb", ConfigType::kInt, false, 128,
       "rows buffered in memory before spilling to the task's work folder"},
  };
  info.example =
      "snapshot:\n"
      "  operator: fact_snapshot\n"
      "  with:\n"
      "    source: data/viewing_history.csv\n"
      "    table: viewing_history\n"
      "    kind: event\n"
      "    timestamp: {column: event_time, format: iso8601}\n"
      "    types: {event_id: int, user_id: int, item_id: int, watch_seconds: int}\n"
      "    ds: \"{{ params.ds }}\"\n";
  return info;
}

Status FactSnapshotOperator::Execute(Context& ctx) {
  auto cfg_or = ParseConfig(ctx);
  if (!cfg_or.ok()) return cfg_or.status();
  const SnapshotConfig& cfg = *cfg_or;
  const std::string source_name = cfg.source.path.string();
  auto start = std::chrono::steady_clock::now();

  auto source = FactSource::Open(cfg.source);
  if (!source.ok())
    return Status(source.status().code() == Status::Code::kIoError
                      ? Status::IoError("fact_snapshot: " + source.status().message())
                      : Bad(source.status().message()));
  const FactSchema& schema = (*source)->schema();
  const int time_index = schema.time_index();
  const bool route_by_time = cfg.kind == FactKind::kEvent || cfg.range;

  DayStaging staging(StagingDir(ctx), cfg.staging_bytes);
  std::int64_t rows_read = 0, bad_rows = 0, out_of_range = 0;
  std::string first_bad;
  SourceRow row;
  while ((*source)->Next(row)) {
    ++rows_read;
    if ((rows_read & 0xFFFF) == 0 && ctx.cancellation().cancelled()) {
      return Status::Cancelled("fact_snapshot cancelled while reading " + source_name);
    }
    if (row.bad) {
      ++bad_rows;
      if (first_bad.empty()) first_bad = row.error;
      if (bad_rows <= kMaxBadRowsShown)
        ctx.Warn("fact_snapshot: {}: bad row: {}", source_name, row.error);
      continue;
    }
    std::int32_t day = route_by_time ? DayOfMs(row.time_ms) : cfg.from;
    if (day < cfg.from || day > cfg.to) {
      ++out_of_range;
      continue;
    }
    REEL_RETURN_IF_ERROR(staging.Add(day, row.encoded, time_index >= 0 ? row.time_ms : 0));
  }
  if (!(*source)->status().ok()) {
    return Status::IoError("fact_snapshot: " + (*source)->status().message());
  }
  if (bad_rows > kMaxBadRowsShown) {
    ctx.Warn("fact_snapshot: {}: {} more bad rows not shown", source_name,
             bad_rows - kMaxBadRowsShown);
  }
  ctx.LogMetric("bad_rows", static_cast<double>(bad_rows));
  if (bad_rows > cfg.max_bad_rows) {
    return Status::Failed(fmt::format(
        "fact_snapshot: {} bad row{} in {} (max_bad_rows: {}); the first: {}. Nothing was "
        "written: fix the source, or raise max_bad_rows to skip them",
        bad_rows, bad_rows == 1 ? "" : "s", source_name, cfg.max_bad_rows, first_bad));
  }
  if (bad_rows > 0) {
    ctx.Warn("fact_snapshot: skipped {} bad rows (max_bad_rows: {})", bad_rows, cfg.max_bad_rows);
  }

  auto store = FactStore::Open(cfg.db);
  if (!store.ok()) return store.status();
  Json partitions = Json::array();
  std::int64_t rows_written = 0, written = 0, unchanged = 0, overwritten = 0, empty_days = 0;
  for (std::int32_t day = cfg.from; day <= cfg.to; ++day) {
    if (ctx.cancellation().cancelled()) {
      return Status::Cancelled(fmt::format("fact_snapshot cancelled before {}", FormatDay(day)));
    }
    auto rows = staging.Take(day);
    if (!rows.ok()) return rows.status();
    PartitionWrite w{cfg.table, cfg.kind, FormatDay(day), schema, cfg.overwrite, ctx.run_id()};
    auto outcome = (*store)->WritePartition(w, *rows);
    if (!outcome.ok()) {
      std::string done = written + unchanged + overwritten == 0
                             ? ""
                             : fmt::format(
                                   " ({} earlier partitions of this step were stored; "
                                   "rerunning after the fix leaves them unchanged)",
                                   written + unchanged + overwritten);
      return Status(outcome.status().code() == Status::Code::kConflict
                        ? Status::Conflict("fact_snapshot: " + outcome.status().message() + done)
                        : Status::IoError("fact_snapshot: " + outcome.status().message() + done));
    }
    if (rows->empty()) ++empty_days;
    switch (outcome->action) {
      case WriteOutcome::Action::kWritten:
        ++written;
        rows_written += outcome->rows;
        break;
      case WriteOutcome::Action::kUnchanged:
        ++unchanged;
        break;
      case WriteOutcome::Action::kOverwritten:
        ++overwritten;
        rows_written += outcome->rows;
        ctx.RecordEvent("facts.partition_overwritten", {{"table", cfg.table},
                                                        {"ds", w.ds},
                                                        {"rows", outcome->rows},
                                                        {"content_hash", outcome->content_hash}});
        break;
    }
    partitions.push_back({{"ds", w.ds},
                          {"rows", outcome->rows},
                          {"action", WriteActionName(outcome->action)},
                          {"content_hash", outcome->content_hash}});
  }
  if (empty_days > 0) {
    ctx.Warn("fact_snapshot: {} of {} days had no rows in {}", empty_days, cfg.to - cfg.from + 1,
             source_name);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ctx.Info(
      "fact_snapshot: {} rows read from {}, {} partitions of '{}' ({} written, {} "
      "unchanged, {} overwritten), {} rows outside {}..{} ignored, {:.2f}s",
      rows_read, source_name, partitions.size(), cfg.table, written, unchanged, overwritten,
      out_of_range, FormatDay(cfg.from), FormatDay(cfg.to), seconds);

  ctx.SetOutput("table", cfg.table);
  ctx.SetOutput("db", cfg.db.string());
  ctx.SetOutput("from", FormatDay(cfg.from));
  ctx.SetOutput("to", FormatDay(cfg.to));
  ctx.SetOutput("partitions", partitions);
  ctx.SetOutput("rows_read", rows_read);
  ctx.SetOutput("rows_written", rows_written);
  ctx.SetOutput("bad_rows", bad_rows);
  ctx.SetOutput("rows_out_of_range", out_of_range);
  ctx.SetOutput("partitions_written", written);
  ctx.SetOutput("partitions_unchanged", unchanged);
  ctx.SetOutput("partitions_overwritten", overwritten);
  ctx.LogMetric("rows_written", static_cast<double>(rows_written));
  ctx.LogMetric("rows_read", static_cast<double>(rows_read));
  ctx.LogMetric("partitions_written", static_cast<double>(written + overwritten));
  return Status::Ok();
}

}  // namespace reel
