#include "facts/rows.h"

#include <algorithm>
#include <numeric>
#include <set>

#include <fmt/format.h>

namespace reel {

const char* ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kInt:
      return "int";
    case ColumnType::kFloat:
      return "float";
    case ColumnType::kString:
      return "string";
    case ColumnType::kTimestamp:
      return "timestamp";
  }
  return "?";
}

Result<ColumnType> ParseColumnType(std::string_view name) {
  if (name == "int") return ColumnType::kInt;
  if (name == "float") return ColumnType::kFloat;
  if (name == "string") return ColumnType::kString;
  if (name == "timestamp") return ColumnType::kTimestamp;
  return Status::InvalidArgument(
      fmt::format("unknown column type '{}': use int, float, string or timestamp", name));
}

int FactSchema::IndexOf(std::string_view name) const {
  if (name.empty()) return -1;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string FactSchema::Describe() const {
  std::string out;
  for (const auto& c : columns) {
    if (!out.empty()) out += ", ";
    out += c.name;
    out += ' ';
    out += ColumnTypeName(c.type);
  }
  return out;
}

nlohmann::json FactSchema::ToJson() const {
  nlohmann::json cols = nlohmann::json::array();
  for (const auto& c : columns)
    cols.push_back({{"name", c.name}, {"type", ColumnTypeName(c.type)}});
  return {{"columns", cols}, {"time_column", time_column}};
}

Result<FactSchema> FactSchema::FromJson(const nlohmann::json& j) {
  FactSchema s;
  try {
    for (const auto& c : j.at("columns")) {
      REEL_ASSIGN_OR_RETURN(auto type, ParseColumnType(c.at("type").get<std::string>()));
      s.columns.push_back({c.at("name").get<std::string>(), type});
    }
    s.time_column = j.value("time_column", "");
  } catch (const nlohmann::json::exception& e) {
    return Status::Internal(fmt::format("corrupt fact table schema: {}", e.what()));
  }
  return s;
}

Status FactSchema::Validate(bool require_time) const {
  if (columns.empty()) return Status::InvalidArgument("a fact table needs at least one column");
  std::set<std::string> seen;
  for (const auto& c : columns) {
    if (c.name.empty()) return Status::InvalidArgument("a fact column has an empty name");
    if (!seen.insert(c.name).second) {
      return Status::InvalidArgument(fmt::format("column '{}' appears twice", c.name));
    }
  }
  if (time_column.empty()) {
    if (require_time) {
      return Status::InvalidArgument("an event table needs a time column (the event time)");
    }
    return Status::Ok();
  }
  int t = IndexOf(time_column);
  if (t < 0) {
    return Status::InvalidArgument(
        fmt::format("time column '{}' is not one of the columns ({})", time_column, Describe()));
  }
  if (columns[t].type != ColumnType::kTimestamp) {
    return Status::InvalidArgument(
        fmt::format("time column '{}' must have type timestamp", time_column));
  }
  return Status::Ok();
}

void EncodeValue(std::string& out, const FactValue& v) {
  switch (v.index()) {
    case 0:
      EncodeNull(out);
      break;
    case 1:
      EncodeInt(out, std::get<1>(v));
      break;
    case 2:
      EncodeFloat(out, std::get<2>(v));
      break;
    case 3:
      EncodeText(out, std::get<3>(v));
      break;
  }
}

std::int64_t EncodedRowCursor::AsInt() const {
  if (tag() == kTagFloat) return static_cast<std::int64_t>(AsFloat());
  std::int64_t v;
  std::memcpy(&v, p_ + 1, 8);
  return v;
}

double EncodedRowCursor::AsFloat() const {
  if (tag() == kTagInt) return static_cast<double>(AsInt());
  double v;
  std::memcpy(&v, p_ + 1, 8);
  return v;
}

std::string_view EncodedRowCursor::AsText() const {
  std::uint32_t n;
  std::memcpy(&n, p_ + 1, 4);
  return std::string_view(p_ + 5, n);
}

void EncodedRowCursor::Skip() {
  switch (tag()) {
    case kTagNull:
      p_ += 1;
      break;
    case kTagInt:
    case kTagFloat:
      p_ += 9;
      break;
    default:
      p_ += 5 + AsText().size();
      break;
  }
}

FactValue EncodedRowCursor::Get() const {
  switch (tag()) {
    case kTagNull:
      return std::monostate{};
    case kTagInt:
      return AsInt();
    case kTagFloat:
      return AsFloat();
    default:
      return std::string(AsText());
  }
}

void FactRows::Append(const std::vector<FactValue>& values, std::int64_t sort_key) {
  std::string& out = BeginRow();
  for (const auto& v : values) EncodeValue(out, v);
  EndRow(sort_key);
}

void FactRows::Clear() {
  data_.clear();
  offsets_.clear();
  keys_.clear();
}

std::vector<std::uint32_t> FactRows::CanonicalOrder() const {
  std::vector<std::uint32_t> order(size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [this](std::uint32_t a, std::uint32_t b) {
    if (keys_[a] != keys_[b]) return keys_[a] < keys_[b];
    return Row(a) < Row(b);
  });
  return order;
}

}  // namespace reel
