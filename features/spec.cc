#include "features/spec.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "engine/base/diagnostic.h"

namespace reel::features {
namespace {

const std::vector<std::pair<std::string, Aggregation>> kAggregations = {
    {"count", Aggregation::kCount}, {"sum", Aggregation::kSum},
    {"mean", Aggregation::kMean},   {"min", Aggregation::kMin},
    {"max", Aggregation::kMax},     {"distinct_count", Aggregation::kDistinctCount},
    {"last", Aggregation::kLast},   {"ratio", Aggregation::kRatio}};

const std::vector<std::string> kFeatureKeys = {"name",   "fact",        "key",    "aggregation",
                                               "column", "window_days", "filter", "numerator"};
const std::vector<std::pair<std::string, Filter::Op>> kOps = {
    {"==", Filter::Op::kEq}, {"!=", Filter::Op::kNe}, {"<", Filter::Op::kLt},
    {"<=", Filter::Op::kLe}, {">", Filter::Op::kGt},  {">=", Filter::Op::kGe},
    {"in", Filter::Op::kIn}};

// The code of a filter op as written; null when it is not one.
const Filter::Op* FindOp(const std::string& op) {
  for (const auto& [name, code] : kOps) {
    if (name == op) return &code;
  }
  return nullptr;
}

template <typename T>
bool Compare(const T& a, Filter::Op op, const T& b) {
  switch (op) {
    case Filter::Op::kEq:
      return a == b;
    case Filter::Op::kNe:
      return a != b;
    case Filter::Op::kLt:
      return a < b;
    case Filter::Op::kLe:
      return a <= b;
    case Filter::Op::kGt:
      return a > b;
    case Filter::Op::kGe:
      return a >= b;
    case Filter::Op::kIn:
      break;
  }
  return false;
}

// The scalar a filter value compares with: numbers and booleans as doubles, else text.
bool NumericValue(const Json& v, double* out) {
  if (v.is_boolean()) {
    *out = v.get<bool>() ? 1 : 0;
    return true;
  }
  if (v.is_number()) {
    *out = v.get<double>();
    return true;
  }
  return false;
}

std::string TextValue(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// Reads an optional string key; a value of another type is an error naming `where`.
Status GetString(const Json& j, const char* key, const std::string& where, std::string* out) {
  if (!j.contains(key) || j[key].is_null()) return Status::Ok();
  if (!j[key].is_string()) {
    return Status::InvalidArgument(where + ": '" + key + "' must be a string, got " +
                                   j[key].dump());
  }
  *out = j[key].get<std::string>();
  return Status::Ok();
}

bool IsInt(const std::string& s, std::int64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

}  // namespace

const char* AggregationName(Aggregation aggregation) {
  for (const auto& [name, a] : kAggregations) {
    if (a == aggregation) return name.c_str();
  }
  return "count";
}

bool Filter::Matches(const FactRow& row) const {
  if (row.IsNull(index)) return false;
  if (code == Op::kIn) {
    for (const auto& v : operands) {
      if (v.numeric ? row.Float(index) == v.number : row.Text(index) == v.text) return true;
    }
    return false;
  }
  const Operand& v = operands.front();
  if (v.numeric) return Compare(row.Float(index), code, v.number);
  return Compare(row.Text(index), code, std::string_view(v.text));
}

Status ParseFilters(const Json& j, std::vector<Filter>* out, const std::string& where) {
  if (j.is_null()) return Status::Ok();
  Json list = j.is_array() ? j : Json::array({j});
  for (const auto& f : list) {
    if (!f.is_object() || !f.contains("column") || !f["column"].is_string() ||
        !f.contains("value")) {
      return Status::InvalidArgument(
          where + ": a filter is {column: NAME, op: ==, value: V}, got " + f.dump());
    }
    for (const auto& [k, v] : f.items()) {
      if (k != "column" && k != "op" && k != "value") {
        return Status::InvalidArgument(where + ": unknown filter key '" + k +
                                       "'; a filter has column, op and value");
      }
    }
    Filter filter;
    filter.column = f["column"].get<std::string>();
    REEL_RETURN_IF_ERROR(GetString(f, "op", where, &filter.op));
    filter.value = f["value"];
    if (FindOp(filter.op) == nullptr) {
      return Status::InvalidArgument(where + ": unknown filter op '" + filter.op +
                                     "'; use one of == != < <= > >= in");
    }
    if (filter.op == "in" && !filter.value.is_array()) {
      return Status::InvalidArgument(where + ": op 'in' takes a list value, got " +
                                     filter.value.dump());
    }
    if (filter.op != "in" && !filter.value.is_primitive()) {
      return Status::InvalidArgument(where +
                                     ": a filter value is a number, a string or a "
                                     "boolean, got " +
                                     filter.value.dump());
    }
    if (filter.value.is_null()) {
      return Status::InvalidArgument(where + ": filter on '" + filter.column +
                                     "' has a null value; null never matches a filter");
    }
    out->push_back(std::move(filter));
  }
  return Status::Ok();
}

Result<FeatureDef> ParseFeature(const Json& j, const std::string& entity) {
  const std::string list = entity + "_features";
  if (!j.is_object()) {
    return Status::InvalidArgument(list +
                                   ": each feature is a mapping {name, fact, aggregation, "
                                   "...}, got " +
                                   j.dump());
  }
  FeatureDef def;
  def.entity = entity;
  REEL_RETURN_IF_ERROR(GetString(j, "name", list, &def.name));
  if (def.name.empty()) return Status::InvalidArgument(list + ": a feature needs a 'name'");
  const std::string where = list + ": feature '" + def.name + "'";
  for (const auto& [k, v] : j.items()) {
    if (std::find(kFeatureKeys.begin(), kFeatureKeys.end(), k) == kFeatureKeys.end()) {
      std::string guess = ClosestMatch(k, kFeatureKeys);
      return Status::InvalidArgument(where + ": unknown key '" + k + "'" +
                                     (guess.empty() ? "" : " (did you mean '" + guess + "'?)") +
                                     "; keys: name, fact, key, aggregation, column, window_days, "
                                     "filter, numerator");
    }
  }
  REEL_RETURN_IF_ERROR(GetString(j, "fact", where, &def.fact));
  if (def.fact.empty()) {
    return Status::InvalidArgument(where + ": 'fact' (the fact table to aggregate) is required");
  }
  def.key = entity + "_id";
  REEL_RETURN_IF_ERROR(GetString(j, "key", where, &def.key));
  std::string aggregation = "count";
  REEL_RETURN_IF_ERROR(GetString(j, "aggregation", where, &aggregation));
  auto it = std::find_if(kAggregations.begin(), kAggregations.end(),
                         [&](const auto& a) { return a.first == aggregation; });
  if (it == kAggregations.end()) {
    return Status::InvalidArgument(where + ": unknown aggregation '" + aggregation +
                                   "'; use count, sum, mean, min, max, distinct_count, last or "
                                   "ratio");
  }
  def.aggregation = it->second;
  REEL_RETURN_IF_ERROR(GetString(j, "column", where, &def.column));
  bool needs_column =
      def.aggregation != Aggregation::kCount && def.aggregation != Aggregation::kRatio;
  if (needs_column && def.column.empty()) {
    return Status::InvalidArgument(where + ": aggregation '" + aggregation +
                                   "' needs 'column' (the column to aggregate)");
  }
  if (!needs_column && !def.column.empty()) {
    return Status::InvalidArgument(where + ": aggregation '" + aggregation +
                                   "' takes no 'column'; use 'filter' to select rows");
  }
  if (j.contains("window_days")) {
    const Json& w = j["window_days"];
    if (!w.is_number_integer() || w.get<std::int64_t>() < 0 || w.get<std::int64_t>() > 100000) {
      return Status::InvalidArgument(where +
                                     ": window_days must be an integer >= 0 (0: all "
                                     "history), got " +
                                     w.dump());
    }
    def.window_days = w.get<int>();
  }
  REEL_RETURN_IF_ERROR(
      ParseFilters(j.contains("filter") ? j["filter"] : Json(), &def.filters, where));
  if (def.aggregation == Aggregation::kRatio) {
    if (!j.contains("numerator")) {
      return Status::InvalidArgument(where +
                                     ": aggregation 'ratio' needs 'numerator' (a filter): "
                                     "the share of rows that match it");
    }
    REEL_RETURN_IF_ERROR(ParseFilters(j["numerator"], &def.numerator, where));
  } else if (j.contains("numerator")) {
    return Status::InvalidArgument(where + ": 'numerator' is only for aggregation 'ratio'");
  }
  return def;
}

Status BindFilter(Filter& f, const FactSchema& schema, const std::string& table) {
  f.index = schema.IndexOf(f.column);
  if (f.index < 0) {
    return Status::NotFound("fact table '" + table + "' has no column '" + f.column +
                            "' (used in a filter); its columns: " + schema.Describe());
  }
  const Filter::Op* op = FindOp(f.op);
  if (op == nullptr) {  // ParseFilters refuses these; a hand-built Filter may not
    return Status::InvalidArgument("unknown filter op '" + f.op +
                                   "'; use one of == != < <= > >= in");
  }
  f.code = *op;
  f.operands.clear();
  for (const Json& v : f.code == Filter::Op::kIn ? f.value : Json::array({f.value})) {
    Filter::Operand operand;
    operand.numeric = NumericValue(v, &operand.number);
    if (!operand.numeric) operand.text = TextValue(v);
    f.operands.push_back(std::move(operand));
  }
  return Status::Ok();
}

Status BindFeature(FeatureDef& def, const FactSchema& schema) {
  const std::string where = def.entity + "_features: feature '" + def.name + "'";
  def.key_index = schema.IndexOf(def.key);
  if (def.key_index < 0) {
    return Status::NotFound(where + ": fact table '" + def.fact + "' has no key column '" +
                            def.key + "' (set 'key:' to the " + def.entity +
                            " column); its columns: " + schema.Describe());
  }
  if (!def.column.empty()) {
    def.column_index = schema.IndexOf(def.column);
    if (def.column_index < 0) {
      return Status::NotFound(where + ": fact table '" + def.fact + "' has no column '" +
                              def.column + "'; its columns: " + schema.Describe());
    }
    ColumnType type = schema.columns[static_cast<std::size_t>(def.column_index)].type;
    def.column_is_int = type == ColumnType::kInt || type == ColumnType::kTimestamp;
  }
  def.key_is_int = schema.columns[static_cast<std::size_t>(def.key_index)].type == ColumnType::kInt;
  for (auto& f : def.filters) {
    Status s = BindFilter(f, schema, def.fact);
    if (!s.ok()) return Status::NotFound(where + ": " + s.message());
  }
  for (auto& f : def.numerator) {
    Status s = BindFilter(f, schema, def.fact);
    if (!s.ok()) return Status::NotFound(where + ": numerator: " + s.message());
  }
  return Status::Ok();
}

namespace {

// A canonical integer: what std::to_string would print.
bool CanonicalInt(std::string_view s, std::int64_t* v) {
  if (s.empty() || s.size() > 20) return false;
  std::size_t digits = s[0] == '-' ? 1 : 0;
  if (digits == s.size() || (s[digits] == '0' && s.size() > digits + 1) || s == "-0") return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::uint32_t EntityIndex::Intern(std::string_view key) {
  std::int64_t v;
  if (CanonicalInt(key, &v)) return InternInt(v);
  auto it = text_ids_.find(key);
  if (it != text_ids_.end()) return it->second;
  auto id = static_cast<std::uint32_t>(keys_.size());
  keys_.emplace_back(key);
  text_ids_.emplace(std::string(key), id);
  return id;
}

std::uint32_t EntityIndex::InternInt(std::int64_t key) {
  std::uint32_t found = FindInt(key);
  if (found != kNone) return found;
  auto id = static_cast<std::uint32_t>(keys_.size());
  keys_.push_back(std::to_string(key));
  if (key >= 0 && key < kDenseLimit) {
    auto k = static_cast<std::size_t>(key);
    if (k >= dense_ids_.size()) dense_ids_.resize(std::max(k + 1, dense_ids_.size() * 2), 0);
    dense_ids_[k] = id + 1;
  } else {
    sparse_ids_.emplace(key, id);
  }
  return id;
}

std::uint32_t EntityIndex::Find(std::string_view key) const {
  std::int64_t v;
  if (CanonicalInt(key, &v)) return FindInt(v);
  auto it = text_ids_.find(key);
  return it == text_ids_.end() ? kNone : it->second;
}

std::uint32_t EntityIndex::FindSparse(std::int64_t key) const {
  auto it = sparse_ids_.find(key);
  return it == sparse_ids_.end() ? kNone : it->second;
}

std::vector<std::uint32_t> EntityIndex::Sorted(std::vector<std::uint32_t> ids) const {
  std::vector<std::int64_t> numbers(ids.size());
  bool all_int = true;
  for (std::size_t i = 0; i < ids.size() && all_int; ++i) {
    all_int = IsInt(keys_[ids[i]], &numbers[i]);
  }
  if (!all_int) {
    std::sort(ids.begin(), ids.end(), [&](auto a, auto b) { return keys_[a] < keys_[b]; });
    return ids;
  }
  std::vector<std::uint32_t> order(ids.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](auto a, auto b) {  // "017" and "17": by text
    if (numbers[a] != numbers[b]) return numbers[a] < numbers[b];
    return keys_[ids[a]] < keys_[ids[b]];
  });
  std::vector<std::uint32_t> out(ids.size());
  for (std::size_t i = 0; i < order.size(); ++i) out[i] = ids[order[i]];
  return out;
}

}  // namespace reel::features
