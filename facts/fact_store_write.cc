// FactStore::WritePartition: one partition, one transaction, immutable unless overwritten.
#include <fmt/format.h>
#include <sqlite3.h>

#include "facts/fact_store.h"
#include "facts/internal/layout.h"

namespace reel {
using namespace fact_sql;

namespace {

Status CheckSameTable(const PartitionWrite& w, const std::string& kind,
                      const std::string& schema_json) {
  if (kind != FactKindName(w.kind)) {
    return Status::Conflict(fmt::format(
        "fact table '{}' holds {} facts, but this write is of kind {}: use another table name",
        w.table, kind, FactKindName(w.kind)));
  }
  auto existing = FactSchema::FromJson(nlohmann::json::parse(schema_json, nullptr, false));
  if (!existing.ok()) return existing.status();
  if (!(*existing == w.schema)) {
    return Status::Conflict(fmt::format(
        "fact table '{}' has columns ({}; time column '{}') but this write has ({}; time column "
        "'{}'): rename or retype the columns to match (fact_snapshot `columns:`/`types:`), or "
        "write to a new table",
        w.table, existing->Describe(), existing->time_column, w.schema.Describe(),
        w.schema.time_column));
  }
  return Status::Ok();
}

std::string ShortHash(const std::string& h) { return h.substr(0, 12); }

}  // namespace

Result<WriteOutcome> FactStore::WritePartition(const PartitionWrite& w, const FactRows& rows) {
  REEL_RETURN_IF_ERROR(ValidateFactTableName(w.table));
  auto day_or = ParseDay(w.ds);
  if (!day_or.ok()) return day_or.status();
  const std::int32_t day = *day_or;
  REEL_RETURN_IF_ERROR(w.schema.Validate(w.kind == FactKind::kEvent));
  if (rows.size() >= static_cast<std::size_t>(kRowsPerDay)) {
    return Status::InvalidArgument(
        fmt::format("partition {}/{} has more than 2^32 rows", w.table, w.ds));
  }
  const std::vector<std::uint32_t> order = rows.CanonicalOrder();
  WriteOutcome out;
  out.rows = static_cast<std::int64_t>(rows.size());
  out.content_hash = PartitionContentHash(w.schema, rows, order);

  Transaction txn(db_);
  REEL_RETURN_IF_ERROR(txn.Begin());
  {
    Stmt q;
    REEL_RETURN_IF_ERROR(q.Prepare(db_, "SELECT kind, schema_json FROM fact_tables WHERE name=?"));
    q.Text(1, w.table);
    auto row = q.Step(db_);
    if (!row.ok()) return row.status();
    if (*row) {
      REEL_RETURN_IF_ERROR(CheckSameTable(w, q.ColText(0), q.ColText(1)));
    } else {
      REEL_RETURN_IF_ERROR(CreateTable(w));
    }
  }
  std::string old_hash;
  std::int64_t old_rows = 0;
  bool exists = false;
  {
    Stmt q;
    REEL_RETURN_IF_ERROR(q.Prepare(
        db_, "SELECT content_hash, row_count FROM fact_partitions WHERE table_name=? AND day=?"));
    q.Text(1, w.table);
    q.Int(2, day);
    auto row = q.Step(db_);
    if (!row.ok()) return row.status();
    if (*row) {
      exists = true;
      old_hash = q.ColText(0);
      old_rows = q.ColInt(1);
    }
  }
  if (exists && old_hash == out.content_hash) {
    out.action = WriteOutcome::Action::kUnchanged;
    return out;  // the transaction rolls back: nothing was changed
  }
  const std::string data_table = QuoteIdent(FactDataTableName(w.table));
  if (exists) {
    if (!w.overwrite) {
      return Status::Conflict(fmt::format(
          "partition {}/{} already exists with different content ({} rows, sha256 {}…; this "
          "write: {} rows, sha256 {}…). Partitions are immutable: set `overwrite: true` to "
          "replace it (the replacement is recorded in partition_events)",
          w.table, w.ds, old_rows, ShortHash(old_hash), out.rows, ShortHash(out.content_hash)));
    }
    Stmt del;
    REEL_RETURN_IF_ERROR(
        del.Prepare(db_, "DELETE FROM " + data_table + " WHERE rowid >= ? AND rowid < ?"));
    del.Int(1, RowidOf(day, 0));
    del.Int(2, RowidOf(day + 1, 0));
    auto r = del.Step(db_);
    if (!r.ok()) return r.status();
    out.action = WriteOutcome::Action::kOverwritten;
  }

  const std::size_t ncols = w.schema.columns.size();
  std::string sql = "INSERT INTO " + data_table + "(rowid";
  for (const auto& c : w.schema.columns) sql += ", " + QuoteIdent(c.name);
  sql += ") VALUES(?";
  for (std::size_t i = 0; i < ncols; ++i) sql += ",?";
  sql += ")";
  Stmt ins;
  REEL_RETURN_IF_ERROR(ins.Prepare(db_, sql));
  sqlite3_stmt* s = ins.get();
  std::int64_t pos = 0;
  for (std::uint32_t i : order) {
    sqlite3_bind_int64(s, 1, RowidOf(day, pos++));
    EncodedRowCursor cur(rows.Row(i));
    for (std::size_t c = 0; c < ncols; ++c) {
      if (cur.done()) {
        return Status::Internal(fmt::format("row {} of partition {}/{} has {} values, expected {}",
                                            i, w.table, w.ds, c, ncols));
      }
      int param = static_cast<int>(c) + 2;
      switch (cur.tag()) {
        case kTagNull:
          sqlite3_bind_null(s, param);
          break;
        case kTagInt:
          sqlite3_bind_int64(s, param, cur.AsInt());
          break;
        case kTagFloat:
          sqlite3_bind_double(s, param, cur.AsFloat());
          break;
        default: {
          std::string_view t = cur.AsText();
          sqlite3_bind_text(s, param, t.data(), static_cast<int>(t.size()), SQLITE_STATIC);
        }
      }
      cur.Skip();
    }
    if (sqlite3_step(s) != SQLITE_DONE) {
      return Status::IoError(
          fmt::format("fact store: writing {}/{}: {}", w.table, w.ds, sqlite3_errmsg(db_)));
    }
    sqlite3_reset(s);
  }

  const std::string now = NowIso();
  {
    Stmt up;
    REEL_RETURN_IF_ERROR(
        up.Prepare(db_,
                   "INSERT OR REPLACE INTO fact_partitions(table_name, day, ds, kind, row_count, "
                   "content_hash, written_at, run_id) VALUES(?,?,?,?,?,?,?,?)"));
    up.Text(1, w.table);
    up.Int(2, day);
    up.Text(3, FormatDay(day));
    up.Text(4, FactKindName(w.kind));
    up.Int(5, out.rows);
    up.Text(6, out.content_hash);
    up.Text(7, now);
    up.Text(8, w.run_id);
    auto r = up.Step(db_);
    if (!r.ok()) return r.status();
  }
  {
    Stmt ev;
    REEL_RETURN_IF_ERROR(ev.Prepare(
        db_,
        "INSERT INTO partition_events(table_name, ds, action, old_hash, new_hash, old_rows, "
        "new_rows, run_id, at) VALUES(?,?,?,?,?,?,?,?,?)"));
    ev.Text(1, w.table);
    ev.Text(2, FormatDay(day));
    ev.Text(3, WriteActionName(out.action));
    ev.Text(4, old_hash);
    ev.Text(5, out.content_hash);
    ev.Int(6, old_rows);
    ev.Int(7, out.rows);
    ev.Text(8, w.run_id);
    ev.Text(9, now);
    auto r = ev.Step(db_);
    if (!r.ok()) return r.status();
  }
  REEL_RETURN_IF_ERROR(txn.Commit());
  return out;
}

}  // namespace reel
