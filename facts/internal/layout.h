// Internal to the fact store (engine/fact_store*.cc): SQLite helpers and the rowid layout.
#pragma once

#include <fmt/format.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "facts/rows.h"
#include "facts/time.h"
#include "reel/status.h"

namespace reel::fact_sql {

constexpr std::int64_t kRowsPerDay = std::int64_t{1} << 32;

inline std::int64_t RowidOf(std::int32_t day, std::int64_t pos) { return day * kRowsPerDay + pos; }
inline std::int32_t DayOfRowid(std::int64_t rowid) {
  std::int64_t d = rowid / kRowsPerDay;
  if (rowid % kRowsPerDay < 0) --d;
  return static_cast<std::int32_t>(d);
}

inline std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

inline std::string NowIso() {
  auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  return FormatIso8601Ms(now.time_since_epoch().count() / 1000 * 1000);
}

// A prepared statement, finalized on destruction.
class Stmt {
 public:
  Stmt() = default;
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Status Prepare(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr) != SQLITE_OK) {
      return Status::IoError(
          fmt::format("fact store: cannot prepare '{}': {}", sql, sqlite3_errmsg(db)));
    }
    return Status::Ok();
  }
  sqlite3_stmt* get() const { return s_; }
  void Text(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
  // SQLITE_ROW -> true; SQLITE_DONE -> false; errors -> status.
  Result<bool> Step(sqlite3* db) {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return Status::IoError(fmt::format("fact store: {}", sqlite3_errmsg(db)));
  }
  std::string ColText(int i) {
    auto* p = sqlite3_column_text(s_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(s_, i)) : "";
  }
  std::int64_t ColInt(int i) { return sqlite3_column_int64(s_, i); }

 private:
  sqlite3_stmt* s_ = nullptr;
};

// Rolls back unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  ~Transaction() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  Status Begin() {
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Status::IoError(
          fmt::format("fact store: cannot begin a write: {}", sqlite3_errmsg(db_)));
    }
    open_ = true;
    return Status::Ok();
  }
  Status Commit() {
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Status::IoError(fmt::format("fact store: commit failed: {}", sqlite3_errmsg(db_)));
    }
    open_ = false;
    return Status::Ok();
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

inline const char* SqlType(ColumnType t) {
  switch (t) {
    case ColumnType::kInt:
    case ColumnType::kTimestamp:
      return "INTEGER";
    case ColumnType::kFloat:
      return "REAL";
    case ColumnType::kString:
      return "TEXT";
  }
  return "";
}

}  // namespace reel::fact_sql
