// Declarative feature definitions of feature_etl and the accumulators that compute them in one
// streaming pass over a fact table.
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
// Not thread-safe; one computer per feature, fed by one scan.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "engine/fact_store.h"
#include "operators/operator.h"

namespace reel::features {

// `column op value`, e.g. {column: thumb, op: "==", value: 1}. A numeric (or boolean) value
// compares numerically, a string value as text; `in` takes a list. Null never matches.
struct Filter {
  std::string column;
  std::string op = "==";  // == != < <= > >= in
  Json value;
  int index = -1;  // resolved against the table's schema by BindFilter

  bool Matches(const FactRow& row) const;
};

enum class Aggregation { kCount, kSum, kMean, kMin, kMax, kDistinctCount, kLast, kRatio };
const char* AggregationName(Aggregation aggregation);

struct FeatureDef {
  std::string name;
  std::string entity;  // "user" or "item"
  std::string fact;  // fact table
  std::string key;  // the entity's column in the fact table
  Aggregation aggregation = Aggregation::kCount;
  std::string column;  // the aggregated column (not for count/ratio)
  int window_days = 0;  // 0: everything visible at the cutoff
  std::vector<Filter> filters;  // rows must match all
  std::vector<Filter> numerator;  // ratio: share of matching rows that also match these
  int key_index = -1, column_index = -1;
  bool column_is_int = false;  // int or timestamp column (distinct_count keys on the integer)
  bool key_is_int = false;  // an int key column (looked up without text)
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
  std::uint32_t FindInt(std::int64_t key) const;
  const std::string& key(std::uint32_t id) const { return keys_[id]; }
  std::size_t size() const { return keys_.size(); }
  // Ids ordered by key: numerically when every key is an integer, else as text.
  std::vector<std::uint32_t> SortedIds() const;

  static constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  static constexpr std::int64_t kDenseLimit = std::int64_t{1} << 22;  // 16 MiB of ids at most
  std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>> text_ids_;
  std::vector<std::uint32_t> dense_ids_;  // id + 1 of integer key k in [0, kDenseLimit); 0: none
  std::unordered_map<std::int64_t, std::uint32_t> sparse_ids_;  // other integer keys
  std::vector<std::string> keys_;
};

class FeatureComputer {
 public:
  // `entities` is the number of entity ids the caller will pass to Add.
  FeatureComputer(FeatureDef def, std::size_t entities);
  const FeatureDef& def() const { return def_; }
  // Whether `row` counts at `cutoff_ms` (window and filters); `time_ms` is its event time.
  bool Accepts(const FactRow& row, std::int64_t time_ms, std::int64_t cutoff_ms) const;
  // Adds an accepted row for entity id `entity`.
  void Add(const FactRow& row, std::uint32_t entity, std::int64_t time_ms);
  // Completes the computation; call once after the last Add and before Value.
  void Finish();
  // Whether `entity` had a matching row, and its value (0 when it had none).
  bool Has(std::uint32_t entity) const { return rows_[entity] > 0; }
  double Value(std::uint32_t entity) const;

 private:
  FeatureDef def_;
  // Per-entity state, one array per quantity the aggregation needs (the others stay empty),
  // so that a scan touches little memory.
  std::vector<std::int64_t> rows_;  // matching rows
  std::vector<std::int64_t> count_;  // non-null values (distinct values for distinct_count)
  std::vector<std::int64_t> matched_;  // ratio numerator
  std::vector<double> value_;  // sum, min, max or last
  std::vector<std::int64_t> last_time_;  // last
  // distinct_count of an integer column: (entity, value) pairs, deduplicated whenever the
  // list doubles, so memory stays proportional to the distinct pairs.
  void CompactDistinct();
  std::vector<std::pair<std::uint32_t, std::int64_t>> distinct_ints_;
  std::size_t distinct_compacted_ = 0;
  std::unordered_set<std::string> distinct_text_;  // 4 bytes of entity id, then the value
};

}  // namespace reel::features
