// The per-entity state of feature_etl's features (features/spec.h defines them) and
// the streaming computation over it.
//
// All features of one entity kind share one record per entity: a few 8-byte slots per feature
// (rows, non-null values, a sum or extreme, ...), laid out side by side, so that a fact row
// updates one record, one or two cache lines, instead of an array per feature and quantity.
// Entity ids are EntityIndex ids; records are added as ids grow. distinct_count keeps its
// (entity, value) pairs outside the records, deduplicated as they grow, so memory follows the
// distinct pairs, not the rows.
//
// Not thread-safe; fed by one scan at a time.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "facts/fact_store.h"
#include "features/spec.h"

namespace reel::features {

class EntityFeatures {
 public:
  // `defs` are bound (BindFeature); `cutoff_ms` is the instant features are computed as of.
  EntityFeatures(std::vector<FeatureDef> defs, std::int64_t cutoff_ms);
  std::size_t size() const { return features_.size(); }
  const FeatureDef& def(std::size_t f) const { return features_[f].def; }

  // Whether feature `f` counts `row`, whose event time is `time_ms` (window and filters).
  bool Accepts(std::size_t f, const FactRow& row, std::int64_t time_ms) const {
    const Feature& x = features_[f];
    if (time_ms >= cutoff_ms_ || time_ms < x.from_ms) return false;
    for (const auto& filter : x.def.filters) {
      if (!filter.Matches(row)) return false;
    }
    return true;
  }
  // Adds an accepted row of entity id `entity` to feature `f`.
  void Add(std::size_t f, const FactRow& row, std::uint32_t entity, std::int64_t time_ms);
  // Hints that rows of `entity` come soon, so that its record is in cache by then.
  void Prefetch(std::uint32_t entity) const {
    if (entity < entities_) __builtin_prefetch(&slots_[std::size_t{entity} * stride_], 1);
  }
  // Completes the computation; call once after the last Add and before Value.
  void Finish();
  // Whether `entity` had a matching row for feature `f`, and its value (0 when it had none).
  bool Has(std::size_t f, std::uint32_t entity) const;
  double Value(std::size_t f, std::uint32_t entity) const;

 private:
  union Slot {
    std::int64_t i;
    double d;
  };
  // A distinct_count feature's (entity, value) pairs: packed as entity << 32 | value while
  // every value is in [0, 2^32), else as pairs.
  struct Distinct {
    std::vector<std::uint64_t> packed;
    std::vector<std::pair<std::uint32_t, std::int64_t>> pairs;
    bool use_pairs = false;
    std::size_t compacted = 0;
    std::unordered_set<std::string> text;  // 4 bytes of entity id, then the value
  };
  struct Feature {
    FeatureDef def;
    std::int64_t from_ms;  // the window's start (INT64_MIN: all history)
    // Slot offsets in the record; -1 when the aggregation does not use it.
    int rows = -1, count = -1, value = -1, matched = -1, last_time = -1;
    int distinct = -1;  // index into distinct_
  };
  Slot* Record(std::uint32_t entity) {
    if (entity >= entities_) Grow(entity);
    return &slots_[std::size_t{entity} * stride_];
  }
  const Slot* Record(std::uint32_t entity) const {
    return entity < entities_ ? &slots_[std::size_t{entity} * stride_] : blank_.data();
  }
  void Grow(std::uint32_t entity);
  void AddDistinct(Distinct& d, std::uint32_t entity, std::int64_t value);
  static void Compact(Distinct& d);

  std::int64_t cutoff_ms_;
  std::vector<Feature> features_;
  std::vector<Distinct> distinct_;
  std::size_t stride_ = 0;   // slots per record
  std::vector<Slot> blank_;  // a new record
  std::vector<Slot> slots_;  // entities_ records
  std::size_t entities_ = 0;
};

}  // namespace reel::features
