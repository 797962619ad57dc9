// Internal to the fact store (facts/fact_store*.cc): how fact tables are laid out in SQLite.
// Statements and transactions go through the store's wrapper (engine/store/sqlite.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "facts/rows.h"
#include "facts/time.h"

namespace reel::fact_layout {

// A row's rowid is day * 2^32 + its position in the partition, so a partition is the rowid
// range [RowidOf(day, 0), RowidOf(day + 1, 0)) and rowid order is canonical order.
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

// The time recorded with a write: ISO-8601 UTC, whole seconds.
inline std::string NowIso() {
  auto now =
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
  return FormatIso8601Ms(now.time_since_epoch().count() / 1000 * 1000);
}

// The SQLite column type of a fact column (timestamps are epoch milliseconds).
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

}  // namespace reel::fact_layout
