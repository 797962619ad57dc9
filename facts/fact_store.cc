#include "facts/fact_store.h"

#include <cctype>
#include <chrono>

#include <fmt/format.h>
#include <sqlite3.h>

#include "engine/base/fsutil.h"
#include "engine/base/sha256.h"
#include "engine/store/sqlite.h"
#include "facts/internal/layout.h"

namespace reel {
using namespace fact_layout;

const char* FactKindName(FactKind kind) { return kind == FactKind::kEvent ? "event" : "state"; }

Result<FactKind> ParseFactKind(std::string_view name) {
  if (name == "event") return FactKind::kEvent;
  if (name == "state") return FactKind::kState;
  return Status::InvalidArgument(fmt::format("unknown fact kind '{}': use event or state", name));
}

const char* WriteActionName(WriteOutcome::Action action) {
  switch (action) {
    case WriteOutcome::Action::kWritten:
      return "written";
    case WriteOutcome::Action::kUnchanged:
      return "unchanged";
    case WriteOutcome::Action::kOverwritten:
      return "overwritten";
  }
  return "?";
}

std::string FactDataTableName(std::string_view table) { return "facts__" + std::string(table); }

Status ValidateFactTableName(std::string_view table) {
  bool ok = !table.empty() && table.size() <= 64 &&
            (std::isalpha(static_cast<unsigned char>(table[0])) || table[0] == '_');
  for (char c : table) ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (!ok) {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not a valid fact table name: use a letter or '_' followed by letters, digits "
        "or '_' (at most 64)",
        table));
  }
  return Status::Ok();
}

std::string PartitionContentHash(const FactSchema& schema, const FactRows& rows,
                                 const std::vector<std::uint32_t>& order) {
  Sha256 h;
  h.Update("reel-facts-v1\n");
  h.Update(schema.Describe());
  h.Update("\ntime:" + schema.time_column + "\n");
  for (std::uint32_t i : order) {
    std::string_view row = rows.Row(i);
    auto n = static_cast<std::uint32_t>(row.size());
    h.Update(&n, 4);
    h.Update(row);
  }
  return h.HexFinal();
}

// ---- FactRow ----

void FactRow::Decode() {
  // One sqlite3_column_value per value, then the cheap sqlite3_value_* reads (the row is read
  // by this thread only, which is all an unprotected value asks for).
  for (std::size_t k = 0; k < read_.size(); ++k) {
    Cell& c = cells_[static_cast<std::size_t>(read_[k])];
    sqlite3_value* v = sqlite3_column_value(stmt_, static_cast<int>(k));
    switch (sqlite3_value_type(v)) {
      case SQLITE_NULL:
        c.type = kNull;
        break;
      case SQLITE_INTEGER:
        c.type = kInt;
        c.i = sqlite3_value_int64(v);
        break;
      case SQLITE_FLOAT:
        c.type = kFloat;
        c.d = sqlite3_value_double(v);
        break;
      default:
        c.type = kOther;
    }
  }
}

bool FactRow::CopyNumbers(const FactRow& row) {
  for (int i : row.read_) {
    const Type type = row.cells_[static_cast<std::size_t>(i)].type;
    if (type == kOther) return false;
    // Int of a float needs SQLite's conversion, which the copy cannot make.
    if (type == kFloat &&
        row.schema_->columns[static_cast<std::size_t>(i)].type != ColumnType::kFloat) {
      return false;
    }
  }
  schema_ = row.schema_;
  stmt_ = nullptr;
  time_index_ = row.time_index_;
  rowid_column_ = -1;
  cells_ = row.cells_;
  read_.clear();
  return true;
}

// The slow paths: a value of another type (or a column not read: 0), converted by SQLite.
// A copy (no statement) holds no value that needs them.
std::int64_t FactRow::ConvertInt(int i) const {
  const Cell& c = cells_[static_cast<std::size_t>(i)];
  return c.column < 0 || !stmt_ ? 0 : sqlite3_column_int64(stmt_, c.column);
}
double FactRow::ConvertFloat(int i) const {
  const Cell& c = cells_[static_cast<std::size_t>(i)];
  return c.column < 0 || !stmt_ ? 0 : sqlite3_column_double(stmt_, c.column);
}
std::string_view FactRow::Text(int i) const {
  const Cell& c = cells_[static_cast<std::size_t>(i)];
  if (c.column < 0 || !stmt_) return {};
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c.column));
  if (!p) return {};
  return std::string_view(p, sqlite3_column_bytes(stmt_, c.column));
}
std::int32_t FactRow::day() const {
  return stmt_ ? DayOfRowid(sqlite3_column_int64(stmt_, rowid_column_)) : 0;
}
FactValue FactRow::Get(int i) const {
  switch (cells_[static_cast<std::size_t>(i)].type) {
    case kNull:
      return std::monostate{};
    case kInt:
      return Int(i);
    case kFloat:
      return Float(i);
    default:
      return std::string(Text(i));
  }
}

// ---- FactStore ----

Result<std::unique_ptr<FactStore>> FactStore::Open(const std::filesystem::path& db_path,
                                                   bool create) {
  std::error_code ec;
  if (!create && !std::filesystem::exists(db_path, ec)) {
    return Status::NotFound(fmt::format(
        "no fact store at {} (nothing has been loaded yet: a fact_snapshot step creates it)",
        db_path.string()));
  }
  if (create && db_path.has_parent_path()) {
    REEL_RETURN_IF_ERROR(MakePrivateDirs(db_path.parent_path()));
  }
  // WAL with synchronous=NORMAL; a write waits up to 30 s for another process's write.
  const Database::Options options{.lock_wait = std::chrono::seconds(30), .wal = true};
  REEL_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(db_path, options));
  std::unique_ptr<FactStore> store(new FactStore(std::move(db), db_path));
  REEL_RETURN_IF_ERROR(store->Init());
  return store;
}

FactStore::FactStore(std::unique_ptr<Database> db, std::filesystem::path path)
    : db_(std::move(db)), path_(std::move(path)) {}

FactStore::~FactStore() = default;

Status FactStore::Init() {
  REEL_RETURN_IF_ERROR(db_->Exec("PRAGMA cache_size=-16384"));
  return db_->Exec(R"sql(
    CREATE TABLE IF NOT EXISTS fact_tables(
      name TEXT PRIMARY KEY, kind TEXT NOT NULL, schema_json TEXT NOT NULL,
      created_at TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS fact_partitions(
      table_name TEXT NOT NULL, day INTEGER NOT NULL, ds TEXT NOT NULL, kind TEXT NOT NULL,
      row_count INTEGER NOT NULL, content_hash TEXT NOT NULL, written_at TEXT NOT NULL,
      run_id TEXT NOT NULL, PRIMARY KEY(table_name, day));
    CREATE TABLE IF NOT EXISTS partition_events(
      id INTEGER PRIMARY KEY, table_name TEXT NOT NULL, ds TEXT NOT NULL, action TEXT NOT NULL,
      old_hash TEXT NOT NULL, new_hash TEXT NOT NULL, old_rows INTEGER NOT NULL,
      new_rows INTEGER NOT NULL, run_id TEXT NOT NULL, at TEXT NOT NULL);
  )sql");
}

}  // namespace reel
