// Declarative feature definitions of feature_etl: parsing, binding to a fact table's columns,
// and the dense entity ids their per-entity state is indexed by (features/state.h).
//
// A feature is an aggregation of one fact table's rows per entity (user or item):
//   {name, fact, key: <entity>_id, aggregation, column, window_days, filter, numerator}
// Rows count when their key is not null, they match every `filter` and, for a window of W
// days, their event time lies in [C - W days, C) where C is the cutoff. Aggregations:
//   count           matching rows
//   sum, mean, min, max, last   over the non-null values of `column` (last: the value with the
//                   latest event time; ties go to the row later in canonical order)
//   distinct_count  distinct non-null values of `column`
//   ratio           the share of matching rows that also match every `numerator` filter
// An entity with no matching row gets 0 for every aggregation.
//
// Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "facts/fact_store.h"
#include "reel/operator.h"

namespace reel::features {

// `column op value`, e.g. {column: thumb, op: "==", value: 1}. A numeric (or boolean) value
// compares numerically, a string value as text; `in` takes a list. Null never matches.
struct Filter {
  std::string column;
  std::string op = "==";  // == != < <= > >= in
  Json value;
  int index = -1;  // resolved against the table's schema by BindFilter

  // Valid once BindFilter has succeeded.
  bool Matches(const FactRow& row) const;

  // `op` and `value` in the form Matches compares with, set by BindFilter.
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kIn };
  struct Operand {
    bool numeric = false;
    double number = 0;
    std::string text;
  };
  Op code = Op::kEq;
  std::vector<Operand> operands;  // the value, or each value of an `in` list
};

enum class Aggregation { kCount, kSum, kMean, kMin, kMax, kDistinctCount, kLast, kRatio };
const char* AggregationName(Aggregation aggregation);

struct FeatureDef {
  std::string name;
  std::string entity;  // "user" or "item"
  std::string fact;    // fact table
  std::string key;     // the entity's column in the fact table
  Aggregation aggregation = Aggregation::kCount;
  std::string column;             // the aggregated column (not for count/ratio)
  int window_days = 0;            // 0: everything visible at the cutoff
  std::vector<Filter> filters;    // rows must match all
  std::vector<Filter> numerator;  // ratio: share of matching rows that also match these
  int key_index = -1, column_index = -1;
  bool column_is_int = false;  // int or timestamp column (distinct_count keys on the integer)
  bool key_is_int = false;     // an int key column (looked up without text)
};

// Parses one definition; `entity` ("user" or "item") comes from the list it is in. Errors
// name the feature and say what would fix it.
Result<FeatureDef> ParseFeature(const Json& j, const std::string& entity);
// A filter or a list of filters; `where` prefixes error messages.
Status ParseFilters(const Json& j, std::vector<Filter>* out, const std::string& where);
// Binds column names to indexes of `schema`; NotFound names the column, the table and the
// table's columns.
Status BindFilter(Filter& f, const FactSchema& schema, const std::string& table);
Status BindFeature(FeatureDef& def, const FactSchema& schema);

// Dense ids for entity keys (their text), in first-seen order. Keys that are canonical
// integers ("17", not "017") are held as integers, so that InternInt(17) and Intern("17") are
// the same entity and integer lookups need no text.
class EntityIndex {
 public:
  std::uint32_t Intern(std::string_view key);
  std::uint32_t InternInt(std::int64_t key);
  // The id of `key`, or kNone; never allocates.
  std::uint32_t Find(std::string_view key) const;
  std::uint32_t FindInt(std::int64_t key) const {
    if (key >= 0 && key < kDenseLimit) {
      const auto k = static_cast<std::size_t>(key);
      return k < dense_ids_.size() && dense_ids_[k] ? dense_ids_[k] - 1 : kNone;
    }
    return FindSparse(key);
  }
  // Hints that `key` is looked up soon.
  void PrefetchInt(std::int64_t key) const {
    if (key >= 0 && static_cast<std::uint64_t>(key) < dense_ids_.size()) {
      __builtin_prefetch(&dense_ids_[static_cast<std::size_t>(key)]);
    }
  }
  const std::string& key(std::uint32_t id) const { return keys_[id]; }
  std::size_t size() const { return keys_.size(); }
  // `ids` ordered by key: numerically when each of their keys is an integer, else as text.
  std::vector<std::uint32_t> Sorted(std::vector<std::uint32_t> ids) const;

  static constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::uint32_t FindSparse(std::int64_t key) const;
  static constexpr std::int64_t kDenseLimit = std::int64_t{1} << 22;  // 16 MiB of ids at most
  std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> text_ids_;
  std::vector<std::uint32_t> dense_ids_;  // id + 1 of integer key k in [0, kDenseLimit); 0: none
  std::unordered_map<std::int64_t, std::uint32_t> sparse_ids_;  // other integer keys
  std::vector<std::string> keys_;
};

}  // namespace reel::features
