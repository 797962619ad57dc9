// FactStore::WritePartition: one partition, one transaction, immutable unless overwritten.
#include <fmt/format.h>

#include "engine/store/sqlite.h"
#include "facts/fact_store.h"
#include "facts/internal/layout.h"

namespace reel {
using namespace fact_layout;

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

  // The body's early returns leave the store untouched: a failure rolls the transaction back,
  // and an unchanged partition has written nothing when it commits.
  Status written = db_->Transaction([&]() -> Status {
    {
      REEL_ASSIGN_OR_RETURN(Stmt q,
                            db_->Prepare("SELECT kind, schema_json FROM fact_tables WHERE name=?"));
      REEL_ASSIGN_OR_RETURN(bool found, q.Bind(1, w.table).Step());
      if (found) {
        REEL_RETURN_IF_ERROR(CheckSameTable(w, q.Text(0), q.Text(1)));
      } else {
        REEL_RETURN_IF_ERROR(CreateTable(w));
      }
    }
    std::string old_hash;
    std::int64_t old_rows = 0;
    bool exists = false;
    {
      REEL_ASSIGN_OR_RETURN(
          Stmt q,
          db_->Prepare(
              "SELECT content_hash, row_count FROM fact_partitions WHERE table_name=? AND day=?"));
      REEL_ASSIGN_OR_RETURN(bool found, q.BindAll(w.table, day).Step());
      if (found) {
        exists = true;
        old_hash = q.Text(0);
        old_rows = q.Int(1);
      }
    }
    if (exists && old_hash == out.content_hash) {
      out.action = WriteOutcome::Action::kUnchanged;
      return Status::Ok();
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
      REEL_ASSIGN_OR_RETURN(
          Stmt del, db_->Prepare("DELETE FROM " + data_table + " WHERE rowid >= ? AND rowid < ?"));
      REEL_RETURN_IF_ERROR(del.BindAll(RowidOf(day, 0), RowidOf(day + 1, 0)).Run());
      out.action = WriteOutcome::Action::kOverwritten;
    }

    const std::size_t ncols = w.schema.columns.size();
    std::string sql = "INSERT INTO " + data_table + "(rowid";
    for (const auto& c : w.schema.columns) sql += ", " + QuoteIdent(c.name);
    sql += ") VALUES(?";
    for (std::size_t i = 0; i < ncols; ++i) sql += ",?";
    sql += ")";
    REEL_ASSIGN_OR_RETURN(Stmt ins, db_->Prepare(sql));
    std::int64_t pos = 0;
    for (std::uint32_t i : order) {
      ins.Bind(1, RowidOf(day, pos++));
      EncodedRowCursor cur(rows.Row(i));
      for (std::size_t c = 0; c < ncols; ++c) {
        if (cur.done()) {
          return Status::Internal(fmt::format(
              "row {} of partition {}/{} has {} values, expected {}", i, w.table, w.ds, c, ncols));
        }
        int param = static_cast<int>(c) + 2;
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
            ins.BindStatic(param, cur.AsText());  // `rows` outlives the statement
        }
        cur.Skip();
      }
      if (Status s = ins.Run(); !s.ok()) {
        return s.WithContext(fmt::format("writing {}/{}: ", w.table, w.ds));
      }
      ins.Reset();
    }

    const std::string now = NowIso();
    {
      REEL_ASSIGN_OR_RETURN(
          Stmt up,
          db_->Prepare(
              "INSERT OR REPLACE INTO fact_partitions(table_name, day, ds, kind, row_count, "
              "content_hash, written_at, run_id) VALUES(?,?,?,?,?,?,?,?)"));
      REEL_RETURN_IF_ERROR(up.BindAll(w.table, day, FormatDay(day), FactKindName(w.kind), out.rows,
                                      out.content_hash, now, w.run_id)
                               .Run());
    }
    REEL_ASSIGN_OR_RETURN(
        Stmt ev,
        db_->Prepare("INSERT INTO partition_events(table_name, ds, action, old_hash, new_hash, "
                     "old_rows, new_rows, run_id, at) VALUES(?,?,?,?,?,?,?,?,?)"));
    return ev
        .BindAll(w.table, FormatDay(day), WriteActionName(out.action), old_hash, out.content_hash,
                 old_rows, out.rows, w.run_id, now)
        .Run();
  });
  REEL_RETURN_IF_ERROR(written);
  return out;
}

}  // namespace reel
