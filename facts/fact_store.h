// The fact store: immutable raw facts (watch events, thumbs, user state) in one SQLite file
// (<home>/facts.db), partitioned by UTC day, with point-in-time reads ("time travel").
//
// Tables. A fact table has a kind and a schema, both fixed by its first partition:
//   event  the partition for day D holds the events whose event time falls on D (UTC);
//   state  the partition for day D holds the full state at the end of day D.
// Rows of table T live in the SQLite table "facts__T" with one typed column per fact column;
// the rowid encodes (day, position in the partition), so a partition is one contiguous rowid
// range and rows are stored in canonical order (event time, then content).
//
// Immutability. A partition's content hash is the SHA-256 of its schema and its rows in
// canonical order, so it does not depend on the order rows arrived in. Writing a partition
// that exists with the same hash is a no-op (kUnchanged); with a different hash it fails with
// Conflict unless `overwrite` is set, which replaces the rows and records an "overwritten"
// row in partition_events. Each partition is written in its own transaction (BEGIN
// IMMEDIATE), so readers never see half a partition.
//
// Time travel, for an instant T:
//   event table  the rows whose event time < T;
//   state table  the rows of the latest partition whose day D < date(T), i.e. whose end of day
//                (D+1 00:00 UTC) <= T. as_of(D 00:00) thus sees the state at the end of D-1,
//                and nothing of day D, like an event table.
// Facts added later for days >= date(T) never change what as_of(T) returns.
//
// Threading: a FactStore owns one SQLite connection and is not thread-safe; open one per
// thread or process. Several processes may share the file (WAL; a write waits up to 30 s for
// another process's write to finish).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "facts/rows.h"
#include "facts/time.h"
#include "reel/status.h"

struct sqlite3_stmt;

namespace reel {

class Database;

enum class FactKind { kEvent, kState };
const char* FactKindName(FactKind kind);  // "event", "state"
Result<FactKind> ParseFactKind(std::string_view name);

struct FactTableInfo {
  std::string name;
  FactKind kind = FactKind::kEvent;
  FactSchema schema;
  std::int64_t partitions = 0;
  std::int64_t rows = 0;
  std::string first_ds, last_ds;  // empty when the table has no partitions
};

struct PartitionInfo {
  std::string table;
  std::string ds;  // YYYY-MM-DD
  std::int32_t day = 0;
  FactKind kind = FactKind::kEvent;
  std::int64_t rows = 0;
  std::string content_hash;  // 64 hex digits
  std::string written_at;    // ISO-8601 UTC
  std::string run_id;
};

// One row of partition_events: every write that changed the store.
struct PartitionEvent {
  std::int64_t id = 0;
  std::string table, ds;
  std::string action;  // "written" or "overwritten"
  std::string old_hash, new_hash;
  std::int64_t old_rows = 0, new_rows = 0;
  std::string run_id, at;
};

struct PartitionWrite {
  std::string table;
  FactKind kind = FactKind::kEvent;
  std::string ds;  // YYYY-MM-DD
  FactSchema schema;
  bool overwrite = false;
  std::string run_id;
};

struct WriteOutcome {
  enum class Action { kWritten, kUnchanged, kOverwritten };
  Action action = Action::kWritten;
  std::int64_t rows = 0;
  std::string content_hash;
};
const char* WriteActionName(WriteOutcome::Action action);  // "written", ...

// One row handed to a scan's visitor; valid only during the call. The store decodes each
// numeric value it reads once, so the accessors below cost no SQLite call for int, float and
// timestamp values; text is fetched on demand. A column the scan did not read is null.
class FactRow {
 public:
  int size() const { return static_cast<int>(schema_->columns.size()); }
  const FactSchema& schema() const { return *schema_; }
  bool IsNull(int i) const { return cells_[static_cast<std::size_t>(i)].type == kNull; }
  // Ints and timestamps (epoch ms); floats and text are converted as SQLite converts them.
  std::int64_t Int(int i) const {
    const Cell& c = cells_[static_cast<std::size_t>(i)];
    return c.type == kInt ? c.i : ConvertInt(i);
  }
  double Float(int i) const {
    const Cell& c = cells_[static_cast<std::size_t>(i)];
    if (c.type == kFloat) return c.d;
    return c.type == kInt ? static_cast<double>(c.i) : ConvertFloat(i);
  }
  std::string_view Text(int i) const;                       // any type, as text
  std::int64_t TimeMs() const { return Int(time_index_); }  // event tables
  std::int32_t day() const;                                 // the partition the row belongs to
  FactValue Get(int i) const;

  // Makes this row a copy of `row` that stays valid after the scan moves on, for a caller
  // that holds rows back for a while. Only rows whose values are integers or null, or floats
  // in float columns, can be copied: for any other row it returns false, and this row must not
  // be used. A copy answers IsNull, Float, TimeMs, Get, and Int of an integer or null, as
  // `row` would; not Text or day.
  bool CopyNumbers(const FactRow& row);

 private:
  friend class FactStore;
  enum Type : std::uint8_t { kNull, kInt, kFloat, kOther };
  struct Cell {
    Type type = kNull;
    int column = -1;  // the result column, -1 when the scan does not read it
    union {
      std::int64_t i;
      double d;
    };
    Cell() : i(0) {}
  };
  void Decode();  // after each step: the type and numeric value of every column read
  std::int64_t ConvertInt(int i) const;
  double ConvertFloat(int i) const;

  const FactSchema* schema_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int time_index_ = -1;
  int rowid_column_ = -1;
  std::vector<Cell> cells_;  // one per schema column
  std::vector<int> read_;    // the schema columns the scan reads, in result column order
};

using FactVisitor = std::function<bool(const FactRow&)>;  // return false to stop the scan

class FactStore {
 public:
  // Opens (creating when `create`) the store at `db_path`. Without `create`, a missing file is
  // NotFound.
  static Result<std::unique_ptr<FactStore>> Open(const std::filesystem::path& db_path,
                                                 bool create = true);
  ~FactStore();
  FactStore(const FactStore&) = delete;
  FactStore& operator=(const FactStore&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // Writes one partition from `rows` (encoded per `w.schema`; sort keys are event times).
  // Creates the table on first use; a later write must have the same kind and schema.
  Result<WriteOutcome> WritePartition(const PartitionWrite& w, const FactRows& rows);

  Result<std::vector<FactTableInfo>> Tables();
  Result<FactTableInfo> Table(std::string_view table);  // NotFound lists the known tables
  Result<std::vector<PartitionInfo>> Partitions(std::string_view table);
  Result<std::vector<PartitionEvent>> Events(std::string_view table);

  // Streams the rows visible at T (see the header comment), in partition order, then canonical
  // order within a partition. `columns` (schema indexes) limits the columns read, all when
  // empty; the others are null in the visited rows.
  Status AsOf(std::string_view table, FactTime t, const FactVisitor& visit,
              std::span<const int> columns = {});
  Result<std::int64_t> CountAsOf(std::string_view table, FactTime t);
  // Streams one partition's rows in canonical order; NotFound when it was never written.
  Status ScanPartition(std::string_view table, std::string_view ds, const FactVisitor& visit);
  // Streams the rows of the partitions of days [first_day, end_day) (missing days have none),
  // in partition order, then canonical order, reading only `columns` as AsOf does.
  Status ScanDays(std::string_view table, std::int32_t first_day, std::int32_t end_day,
                  std::span<const int> columns, const FactVisitor& visit);
  // The same for a table already looked up (Table), without reading the catalog again: one
  // range scan of the rows, whatever the number of partitions.
  Status ScanDays(const FactTableInfo& info, std::int32_t first_day, std::int32_t end_day,
                  std::span<const int> columns, const FactVisitor& visit);

  // How many queries over fact rows (range scans and counts) this store has run.
  std::int64_t row_queries() const { return row_queries_; }

 private:
  FactStore(std::unique_ptr<Database> db, std::filesystem::path path);
  Status Init();
  Status ScanRange(const FactTableInfo& info, std::int64_t rowid_lo, std::int64_t rowid_hi,
                   std::int64_t time_below, std::span<const int> columns, const FactVisitor& visit,
                   std::int64_t* count);
  Result<std::int32_t> LatestStateDayBefore(std::string_view table, std::int32_t day);

  std::unique_ptr<Database> db_;
  std::filesystem::path path_;
  std::int64_t row_queries_ = 0;
};

// The SQLite table holding a fact table's rows.
std::string FactDataTableName(std::string_view table);
// Table names: a letter or '_', then letters, digits and '_', at most 64 characters.
Status ValidateFactTableName(std::string_view table);
// The content hash WritePartition records for `rows` (exposed for tests and tools).
std::string PartitionContentHash(const FactSchema& schema, const FactRows& rows,
                                 const std::vector<std::uint32_t>& canonical_order);

}  // namespace reel
