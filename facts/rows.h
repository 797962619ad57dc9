// The row model of the fact store: column types, a table's schema, and FactRows, a compact
// in-memory batch of rows (one partition's worth) in a canonical binary encoding.
//
// Encoding of one row: for each column, a tag byte then the value:
//   0 null | 1 int64 (8 bytes, little-endian) | 2 float64 (8 bytes) | 3 text (u32 length, bytes)
// Timestamps are int64 epoch milliseconds. Equal rows have equal bytes, which is what makes a
// partition's content hash independent of the order rows arrived in.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "reel/status.h"

namespace reel {

enum class ColumnType { kInt, kFloat, kString, kTimestamp };
const char* ColumnTypeName(ColumnType type);  // "int", "float", "string", "timestamp"
Result<ColumnType> ParseColumnType(std::string_view name);

struct FactColumn {
  std::string name;
  ColumnType type = ColumnType::kString;
  bool operator==(const FactColumn&) const = default;
};

// A fact table's columns. An event table names its event-time column (type kTimestamp) in
// time_column; a state table may leave it empty.
struct FactSchema {
  std::vector<FactColumn> columns;
  std::string time_column;

  int IndexOf(std::string_view name) const;  // -1 when absent
  int time_index() const { return IndexOf(time_column); }
  // "user_id int, item_id int, event_time timestamp"
  std::string Describe() const;
  nlohmann::json ToJson() const;
  static Result<FactSchema> FromJson(const nlohmann::json& j);
  // Names non-empty and unique, the time column present and a timestamp.
  Status Validate(bool require_time) const;
  bool operator==(const FactSchema&) const = default;
};

using FactValue = std::variant<std::monostate, std::int64_t, double, std::string>;

enum : std::uint8_t { kTagNull = 0, kTagInt = 1, kTagFloat = 2, kTagText = 3 };

// Appends one encoded value to `out`.
inline void EncodeNull(std::string& out) { out.push_back(static_cast<char>(kTagNull)); }
inline void EncodeInt(std::string& out, std::int64_t v) {
  char buf[9];
  buf[0] = static_cast<char>(kTagInt);
  std::memcpy(buf + 1, &v, 8);  // little-endian hosts only (x86-64, aarch64)
  out.append(buf, 9);
}
inline void EncodeFloat(std::string& out, double v) {
  char buf[9];
  buf[0] = static_cast<char>(kTagFloat);
  std::memcpy(buf + 1, &v, 8);
  out.append(buf, 9);
}
inline void EncodeText(std::string& out, std::string_view v) {
  char buf[5];
  buf[0] = static_cast<char>(kTagText);
  auto n = static_cast<std::uint32_t>(v.size());
  std::memcpy(buf + 1, &n, 4);
  out.append(buf, 5);
  out.append(v);
}
void EncodeValue(std::string& out, const FactValue& v);

// Walks the values of one encoded row.
class EncodedRowCursor {
 public:
  explicit EncodedRowCursor(std::string_view row) : p_(row.data()), end_(row.data() + row.size()) {}
  bool done() const { return p_ >= end_; }
  std::uint8_t tag() const { return static_cast<std::uint8_t>(*p_); }
  std::int64_t AsInt() const;  // for kTagInt / kTagFloat
  double AsFloat() const;
  std::string_view AsText() const;
  void Skip();
  FactValue Get() const;

 private:
  const char* p_;
  const char* end_;
};

// A batch of encoded rows. Appending is amortized O(row size); rows are addressed by index.
class FactRows {
 public:
  // Row building: Begin, then exactly one Encode* per schema column on buffer(), then End.
  std::string& BeginRow() { return data_; }
  void EndRow(std::int64_t sort_key) {
    offsets_.push_back(data_.size());
    keys_.push_back(sort_key);
  }
  void AppendEncoded(std::string_view row, std::int64_t sort_key) {
    data_.append(row);
    EndRow(sort_key);
  }
  // Convenience for callers outside the hot path; `values` must match the schema.
  void Append(const std::vector<FactValue>& values, std::int64_t sort_key = 0);

  std::size_t size() const { return keys_.size(); }
  std::size_t bytes() const { return data_.size(); }
  bool empty() const { return keys_.empty(); }
  std::string_view Row(std::size_t i) const {
    std::size_t begin = i == 0 ? 0 : offsets_[i - 1];
    return std::string_view(data_).substr(begin, offsets_[i] - begin);
  }
  std::int64_t SortKey(std::size_t i) const { return keys_[i]; }
  void Clear();

  // Row indices in canonical order: by sort key (the event time), then by encoded bytes.
  std::vector<std::uint32_t> CanonicalOrder() const;

 private:
  std::string data_;
  std::vector<std::size_t> offsets_;  // end offset of each row
  std::vector<std::int64_t> keys_;
};

}  // namespace reel
