// FactStore reads: table and partition listings, time travel (AsOf) and partition scans.
#include <algorithm>
#include <climits>

#include <fmt/format.h>

#include "engine/store/sqlite.h"
#include "facts/fact_store.h"
#include "facts/internal/layout.h"

namespace reel {
using namespace fact_layout;

namespace {

constexpr const char* kTablesSql =
    "SELECT t.name, t.kind, t.schema_json, COUNT(p.day), COALESCE(SUM(p.row_count), 0), "
    "COALESCE(MIN(p.ds), ''), COALESCE(MAX(p.ds), '') FROM fact_tables t "
    "LEFT JOIN fact_partitions p ON p.table_name = t.name ";

Result<FactTableInfo> ReadTableRow(const Stmt& q) {
  FactTableInfo info;
  info.name = q.Text(0);
  REEL_ASSIGN_OR_RETURN(info.kind, ParseFactKind(q.Text(1)));
  REEL_ASSIGN_OR_RETURN(info.schema,
                        FactSchema::FromJson(nlohmann::json::parse(q.Text(2), nullptr, false)));
  info.partitions = q.Int(3);
  info.rows = q.Int(4);
  info.first_ds = q.Text(5);
  info.last_ds = q.Text(6);
  return info;
}

}  // namespace

Result<std::vector<FactTableInfo>> FactStore::Tables() {
  REEL_ASSIGN_OR_RETURN(Stmt q,
                        db_->Prepare(std::string(kTablesSql) + "GROUP BY t.name ORDER BY t.name"));
  std::vector<FactTableInfo> out;
  while (true) {
    REEL_ASSIGN_OR_RETURN(bool more, q.Step());
    if (!more) break;
    REEL_ASSIGN_OR_RETURN(FactTableInfo info, ReadTableRow(q));
    out.push_back(std::move(info));
  }
  return out;
}

Result<FactTableInfo> FactStore::Table(std::string_view table) {
  {
    REEL_ASSIGN_OR_RETURN(
        Stmt q, db_->Prepare(std::string(kTablesSql) + "WHERE t.name = ? GROUP BY t.name"));
    REEL_ASSIGN_OR_RETURN(bool found, q.Bind(1, table).Step());
    if (found) return ReadTableRow(q);
  }
  REEL_ASSIGN_OR_RETURN(std::vector<FactTableInfo> all, Tables());
  std::string known;
  for (const auto& t : all) known += (known.empty() ? "" : ", ") + t.name;
  return Status::NotFound(
      fmt::format("no fact table '{}' in {}; {}", table, path_.string(),
                  known.empty() ? "the fact store has no tables yet" : "known tables: " + known));
}

Result<std::vector<PartitionInfo>> FactStore::Partitions(std::string_view table) {
  REEL_RETURN_IF_ERROR(Table(table).status());
  REEL_ASSIGN_OR_RETURN(
      Stmt q,
      db_->Prepare(
          "SELECT day, ds, kind, row_count, content_hash, written_at, run_id FROM fact_partitions "
          "WHERE table_name = ? ORDER BY day"));
  q.Bind(1, table);
  std::vector<PartitionInfo> out;
  while (true) {
    REEL_ASSIGN_OR_RETURN(bool more, q.Step());
    if (!more) break;
    out.push_back({.table = std::string(table),
                   .ds = q.Text(1),
                   .day = static_cast<std::int32_t>(q.Int(0)),
                   .kind = q.Text(2) == "state" ? FactKind::kState : FactKind::kEvent,
                   .rows = q.Int(3),
                   .content_hash = q.Text(4),
                   .written_at = q.Text(5),
                   .run_id = q.Text(6)});
  }
  return out;
}

Result<std::vector<PartitionEvent>> FactStore::Events(std::string_view table) {
  REEL_ASSIGN_OR_RETURN(
      Stmt q,
      db_->Prepare(
          "SELECT id, table_name, ds, action, old_hash, new_hash, old_rows, new_rows, run_id, at "
          "FROM partition_events WHERE table_name = ? ORDER BY id"));
  q.Bind(1, table);
  std::vector<PartitionEvent> out;
  while (true) {
    REEL_ASSIGN_OR_RETURN(bool more, q.Step());
    if (!more) break;
    out.push_back({.id = q.Int(0),
                   .table = q.Text(1),
                   .ds = q.Text(2),
                   .action = q.Text(3),
                   .old_hash = q.Text(4),
                   .new_hash = q.Text(5),
                   .old_rows = q.Int(6),
                   .new_rows = q.Int(7),
                   .run_id = q.Text(8),
                   .at = q.Text(9)});
  }
  return out;
}

Result<std::int32_t> FactStore::LatestStateDayBefore(std::string_view table, std::int32_t day) {
  REEL_ASSIGN_OR_RETURN(
      Stmt q,
      db_->Prepare("SELECT MAX(day) FROM fact_partitions WHERE table_name = ? AND day < ?"));
  REEL_RETURN_IF_ERROR(q.BindAll(table, day).Step().status());
  if (q.IsNull(0)) return INT32_MIN;
  return static_cast<std::int32_t>(q.Int(0));
}

Status FactStore::ScanRange(const FactTableInfo& info, std::int64_t rowid_lo, std::int64_t rowid_hi,
                            std::int64_t time_below, std::span<const int> columns,
                            const FactVisitor& visit, std::int64_t* count) {
  const int time_index = info.schema.time_index();
  const bool filter_time = time_below != INT64_MAX && time_index >= 0;
  FactRow row;
  row.schema_ = &info.schema;
  row.time_index_ = time_index;
  row.cells_.resize(info.schema.columns.size());
  std::string sql = "SELECT ";
  if (visit) {
    const int n = static_cast<int>(info.schema.columns.size());
    for (int i : columns) {
      if (i < 0 || i >= n) {
        return Status::InvalidArgument(fmt::format("fact table '{}' has no column {} ({})",
                                                   info.name, i, info.schema.Describe()));
      }
    }
    for (int i = 0; i < n; ++i) {
      if (columns.empty() || std::find(columns.begin(), columns.end(), i) != columns.end()) {
        row.cells_[static_cast<std::size_t>(i)].column = static_cast<int>(row.read_.size());
        row.read_.push_back(i);
        sql += QuoteIdent(info.schema.columns[static_cast<std::size_t>(i)].name) + ", ";
      }
    }
    row.rowid_column_ = static_cast<int>(row.read_.size());
    sql += "rowid";
  } else {
    sql += "COUNT(*)";
  }
  sql += " FROM " + QuoteIdent(FactDataTableName(info.name)) + " WHERE rowid >= ? AND rowid < ?";
  if (filter_time) sql += " AND " + QuoteIdent(info.schema.time_column) + " < ?";
  if (visit) sql += " ORDER BY rowid";
  REEL_ASSIGN_OR_RETURN(Stmt q, db_->Prepare(sql));
  ++row_queries_;
  q.Bind(1, rowid_lo).Bind(2, rowid_hi);
  if (filter_time) q.Bind(3, time_below);
  row.stmt_ = q.handle();
  while (true) {
    REEL_ASSIGN_OR_RETURN(bool more, q.Step());
    if (!more) break;
    if (!visit) {
      *count += q.Int(0);
      break;
    }
    ++*count;
    row.Decode();
    if (!visit(row)) break;
  }
  return Status::Ok();
}

Status FactStore::AsOf(std::string_view table, FactTime t, const FactVisitor& visit,
                       std::span<const int> columns) {
  REEL_ASSIGN_OR_RETURN(const FactTableInfo info, Table(table));
  const std::int64_t t_ms = t.time_since_epoch().count();
  const std::int32_t t_day = DayOfMs(t_ms);
  std::int64_t count = 0;
  if (info.kind == FactKind::kEvent) {
    // Partitions after date(T) only hold events at or after T; the rowid bound skips them.
    return ScanRange(info, INT64_MIN, RowidOf(t_day + 1, 0), t_ms, columns, visit, &count);
  }
  REEL_ASSIGN_OR_RETURN(const std::int32_t day, LatestStateDayBefore(table, t_day));
  if (day == INT32_MIN) return Status::Ok();  // no state known before T
  return ScanRange(info, RowidOf(day, 0), RowidOf(day + 1, 0), INT64_MAX, columns, visit, &count);
}

Result<std::int64_t> FactStore::CountAsOf(std::string_view table, FactTime t) {
  REEL_ASSIGN_OR_RETURN(const FactTableInfo info, Table(table));
  const std::int64_t t_ms = t.time_since_epoch().count();
  const std::int32_t t_day = DayOfMs(t_ms);
  std::int64_t count = 0;
  if (info.kind == FactKind::kEvent) {
    REEL_RETURN_IF_ERROR(
        ScanRange(info, INT64_MIN, RowidOf(t_day + 1, 0), t_ms, {}, nullptr, &count));
    return count;
  }
  REEL_ASSIGN_OR_RETURN(const std::int32_t day, LatestStateDayBefore(table, t_day));
  if (day == INT32_MIN) return std::int64_t{0};
  REEL_RETURN_IF_ERROR(
      ScanRange(info, RowidOf(day, 0), RowidOf(day + 1, 0), INT64_MAX, {}, nullptr, &count));
  return count;
}

Status FactStore::ScanPartition(std::string_view table, std::string_view ds,
                                const FactVisitor& visit) {
  REEL_ASSIGN_OR_RETURN(const FactTableInfo info, Table(table));
  REEL_ASSIGN_OR_RETURN(const std::int32_t day, ParseDay(ds));
  {
    REEL_ASSIGN_OR_RETURN(
        Stmt q, db_->Prepare("SELECT 1 FROM fact_partitions WHERE table_name = ? AND day = ?"));
    REEL_ASSIGN_OR_RETURN(bool found, q.BindAll(table, day).Step());
    if (!found) {
      return Status::NotFound(fmt::format("fact table '{}' has no partition for {}", table, ds));
    }
  }
  std::int64_t count = 0;
  return ScanRange(info, RowidOf(day, 0), RowidOf(day + 1, 0), INT64_MAX, {}, visit, &count);
}

Status FactStore::ScanDays(std::string_view table, std::int32_t first_day, std::int32_t end_day,
                           std::span<const int> columns, const FactVisitor& visit) {
  REEL_ASSIGN_OR_RETURN(const FactTableInfo info, Table(table));
  return ScanDays(info, first_day, end_day, columns, visit);
}

Status FactStore::ScanDays(const FactTableInfo& info, std::int32_t first_day, std::int32_t end_day,
                           std::span<const int> columns, const FactVisitor& visit) {
  if (first_day >= end_day) return Status::Ok();
  std::int64_t count = 0;
  return ScanRange(info, RowidOf(first_day, 0), RowidOf(end_day, 0), INT64_MAX, columns, visit,
                   &count);
}

}  // namespace reel
