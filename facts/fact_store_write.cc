// FactStore::WritePartition: one partition, one transaction, immutable unless overwritten.
//
// A write takes four steps inside its transaction: make sure the table exists with the write's
// kind and schema; look up what the day holds and decide (written, unchanged, a Conflict, or
// overwritten); insert the rows; record the partition and the write in partition_events.
#include <optional>

#include <fmt/format.h>

#include "engine/store/sqlite.h"
#include "facts/fact_store.h"
#include "facts/internal/layout.h"

namespace reel {
using namespace fact_layout;

namespace {

// What the store holds for one day of a table.
struct StoredPartition {
  std::string content_hash;
  std::int64_t rows = 0;
};

std::string ShortHash(const std::string& h) { return h.substr(0, 12); }

// The day `w` writes, once the write is one the store can take.
Result<std::int32_t> CheckWrite(const PartitionWrite& w, const FactRows& rows) {
  REEL_RETURN_IF_ERROR(ValidateFactTableName(w.table));
  REEL_ASSIGN_OR_RETURN(const std::int32_t day, ParseDay(w.ds));
  REEL_RETURN_IF_ERROR(w.schema.Validate(w.kind == FactKind::kEvent));
  if (rows.size() >= static_cast<std::size_t>(kRowsPerDay)) {
    return Status::InvalidArgument(
        fmt::format("partition {}/{} has more than 2^32 rows", w.table, w.ds));
  }
  return day;
}

Status CheckSameTable(const PartitionWrite& w, const std::string& kind,
                      const std::string& schema_json) {
  if (kind != FactKindName(w.kind)) {
    return Status::Conflict(fmt::format(
        "fact table '{}' holds {} facts, but this write is of kind {}: use another table name",
        w.table, kind, FactKindName(w.kind)));
  }
  REEL_ASSIGN_OR_RETURN(const FactSchema existing,
                        FactSchema::FromJson(nlohmann::json::parse(schema_json, nullptr, false)));
  if (!(existing == w.schema)) {
    return Status::Conflict(fmt::format(
        "fact table '{}' has columns ({}; time column '{}') but this write has ({}; time column "
        "'{}'): rename or retype the columns to match (fact_snapshot `columns:`/`types:`), or "
        "write to a new table",
        w.table, existing.Describe(), existing.time_column, w.schema.Describe(),
        w.schema.time_column));
  }
  return Status::Ok();
}

Status CreateTable(Database& db, const PartitionWrite& w) {
  std::string sql = "CREATE TABLE " + QuoteIdent(FactDataTableName(w.table)) + "(";
  for (std::size_t i = 0; i < w.schema.columns.size(); ++i) {
    if (i) sql += ", ";
    sql += QuoteIdent(w.schema.columns[i].name) + " " + SqlType(w.schema.columns[i].type);
  }
  sql += ")";
  REEL_RETURN_IF_ERROR(db.Exec(sql));
  REEL_ASSIGN_OR_RETURN(
      Stmt ins,
      db.Prepare("INSERT INTO fact_tables(name, kind, schema_json, created_at) VALUES(?,?,?,?)"));
  return ins.BindAll(w.table, FactKindName(w.kind), w.schema.ToJson().dump(), NowIso()).Run();
}

// Creates the table on its first write; a later write must have the same kind and schema.
Status EnsureTable(Database& db, const PartitionWrite& w) {
  REEL_ASSIGN_OR_RETURN(Stmt q,
                        db.Prepare("SELECT kind, schema_json FROM fact_tables WHERE name=?"));
  REEL_ASSIGN_OR_RETURN(const bool found, q.Bind(1, w.table).Step());
  if (found) return CheckSameTable(w, q.Text(0), q.Text(1));
  return CreateTable(db, w);
}

Result<std::optional<StoredPartition>> FindPartition(Database& db, const std::string& table,
                                                     std::int32_t day) {
  REEL_ASSIGN_OR_RETURN(
      Stmt q,
      db.Prepare(
          "SELECT content_hash, row_count FROM fact_partitions WHERE table_name=? AND day=?"));
  REEL_ASSIGN_OR_RETURN(const bool found, q.BindAll(table, day).Step());
  if (!found) return std::optional<StoredPartition>();
  return std::optional<StoredPartition>(
      StoredPartition{.content_hash = q.Text(0), .rows = q.Int(1)});
}

// What writing `out` does to a day that holds `old`: the same content is a no-op, different
// content a Conflict unless the write may overwrite it.
Result<WriteOutcome::Action> Decide(const PartitionWrite& w,
                                    const std::optional<StoredPartition>& old,
                                    const WriteOutcome& out) {
  if (!old) return WriteOutcome::Action::kWritten;
  if (old->content_hash == out.content_hash) return WriteOutcome::Action::kUnchanged;
  if (!w.overwrite) {
    return Status::Conflict(fmt::format(
        "partition {}/{} already exists with different content ({} rows, sha256 {}…; this "
        "write: {} rows, sha256 {}…). Partitions are immutable: set `overwrite: true` to "
        "replace it (the replacement is recorded in partition_events)",
        w.table, w.ds, old->rows, ShortHash(old->content_hash), out.rows,
        ShortHash(out.content_hash)));
  }
  return WriteOutcome::Action::kOverwritten;
}

Status DeleteRows(Database& db, const std::string& table, std::int32_t day) {
  REEL_ASSIGN_OR_RETURN(Stmt del, db.Prepare("DELETE FROM " + QuoteIdent(FactDataTableName(table)) +
                                             " WHERE rowid >= ? AND rowid < ?"));
  return del.BindAll(RowidOf(day, 0), RowidOf(day + 1, 0)).Run();
}

// Binds one encoded row's values to parameters 2.. of `ins`; returns how many it bound, fewer
// than `ncols` when the row is short. Text is bound without a copy: the row outlives `ins`.
std::size_t BindValues(Stmt& ins, std::string_view row, std::size_t ncols) {
  EncodedRowCursor cur(row);
  for (std::size_t c = 0; c < ncols; ++c) {
    if (cur.done()) return c;
    const int param = static_cast<int>(c) + 2;
    switch (cur.tag()) {
      case kTagNull:
        ins.Bind(param, std::nullopt);
        break;
      case kTagInt:
        ins.Bind(param, cur.AsInt());
        break;
      case kTagFloat:
        ins.Bind(param, cur.AsFloat());
        break;
      default:
        ins.BindStatic(param, cur.AsText());
    }
    cur.Skip();
  }
  return ncols;
}

// Inserts the rows in canonical order, as the day's rowid range.
Status InsertRows(Database& db, const PartitionWrite& w, std::int32_t day, const FactRows& rows,
                  const std::vector<std::uint32_t>& order) {
  const std::size_t ncols = w.schema.columns.size();
  std::string sql = "INSERT INTO " + QuoteIdent(FactDataTableName(w.table)) + "(rowid";
  for (const auto& c : w.schema.columns) sql += ", " + QuoteIdent(c.name);
  sql += ") VALUES(?";
  for (std::size_t i = 0; i < ncols; ++i) sql += ",?";
  sql += ")";
  REEL_ASSIGN_OR_RETURN(Stmt ins, db.Prepare(sql));
  std::int64_t pos = 0;
  for (std::uint32_t i : order) {
    ins.Bind(1, RowidOf(day, pos++));
    if (std::size_t bound = BindValues(ins, rows.Row(i), ncols); bound < ncols) {
      return Status::Internal(fmt::format("row {} of partition {}/{} has {} values, expected {}", i,
                                          w.table, w.ds, bound, ncols));
    }
    if (Status s = ins.Run(); !s.ok()) {
      return s.WithContext(fmt::format("writing {}/{}: ", w.table, w.ds));
    }
    ins.Reset();
  }
  return Status::Ok();
}

// Records the partition (replacing what was recorded for its day) and the write.
Status RecordPartition(Database& db, const PartitionWrite& w, std::int32_t day,
                       const WriteOutcome& out, const std::optional<StoredPartition>& old) {
  const std::string now = NowIso();
  const std::string ds = FormatDay(day);
  {
    REEL_ASSIGN_OR_RETURN(
        Stmt up,
        db.Prepare("INSERT OR REPLACE INTO fact_partitions(table_name, day, ds, kind, row_count, "
                   "content_hash, written_at, run_id) VALUES(?,?,?,?,?,?,?,?)"));
    REEL_RETURN_IF_ERROR(up.BindAll(w.table, day, ds, FactKindName(w.kind), out.rows,
                                    out.content_hash, now, w.run_id)
                             .Run());
  }
  const StoredPartition none;
  const StoredPartition& before = old ? *old : none;
  REEL_ASSIGN_OR_RETURN(
      Stmt ev,
      db.Prepare("INSERT INTO partition_events(table_name, ds, action, old_hash, new_hash, "
                 "old_rows, new_rows, run_id, at) VALUES(?,?,?,?,?,?,?,?,?)"));
  return ev
      .BindAll(w.table, ds, WriteActionName(out.action), before.content_hash, out.content_hash,
               before.rows, out.rows, w.run_id, now)
      .Run();
}

}  // namespace

Result<WriteOutcome> FactStore::WritePartition(const PartitionWrite& w, const FactRows& rows) {
  REEL_ASSIGN_OR_RETURN(const std::int32_t day, CheckWrite(w, rows));
  const std::vector<std::uint32_t> order = rows.CanonicalOrder();
  WriteOutcome out{.rows = static_cast<std::int64_t>(rows.size()),
                   .content_hash = PartitionContentHash(w.schema, rows, order)};
  // A failure rolls the transaction back; an unchanged partition commits having written nothing.
  REEL_RETURN_IF_ERROR(db_->Transaction([&]() -> Status {
    REEL_RETURN_IF_ERROR(EnsureTable(*db_, w));
    REEL_ASSIGN_OR_RETURN(const std::optional<StoredPartition> old,
                          FindPartition(*db_, w.table, day));
    REEL_ASSIGN_OR_RETURN(out.action, Decide(w, old, out));
    if (out.action == WriteOutcome::Action::kUnchanged) return Status::Ok();
    if (out.action == WriteOutcome::Action::kOverwritten) {
      REEL_RETURN_IF_ERROR(DeleteRows(*db_, w.table, day));
    }
    REEL_RETURN_IF_ERROR(InsertRows(*db_, w, day, rows, order));
    return RecordPartition(*db_, w, day, out, old);
  }));
  return out;
}

}  // namespace reel
