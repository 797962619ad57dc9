#include "features/state.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

namespace reel::features {
namespace {

constexpr std::int64_t kNoTime = std::numeric_limits<std::int64_t>::min();

// Sorts `keys` with an LSD radix sort on bytes, skipping the bytes every key shares.
void RadixSort(std::vector<std::uint64_t>& keys) {
  if (keys.size() < 256) {
    std::sort(keys.begin(), keys.end());
    return;
  }
  std::uint64_t all_or = 0, all_and = ~std::uint64_t{0};
  for (std::uint64_t k : keys) {
    all_or |= k;
    all_and &= k;
  }
  const std::uint64_t varying = all_or ^ all_and;
  std::vector<std::uint64_t> scratch(keys.size());
  for (int shift = 0; shift < 64; shift += 8) {
    if (((varying >> shift) & 0xff) == 0) continue;
    std::array<std::size_t, 256> offsets{};
    for (std::uint64_t k : keys) ++offsets[(k >> shift) & 0xff];
    std::size_t sum = 0;
    for (auto& o : offsets) {
      std::size_t n = o;
      o = sum;
      sum += n;
    }
    for (std::uint64_t k : keys) scratch[offsets[(k >> shift) & 0xff]++] = k;
    keys.swap(scratch);
  }
}

}  // namespace

EntityFeatures::EntityFeatures(std::vector<FeatureDef> defs, std::int64_t cutoff_ms)
    : cutoff_ms_(cutoff_ms) {
  std::vector<Slot> blank;
  auto slot = [&](std::int64_t init) {
    Slot s;
    s.i = init;
    blank.push_back(s);
    return static_cast<int>(blank.size() - 1);
  };
  for (auto& def : defs) {
    Feature f{std::move(def), kNoTime};
    if (f.def.window_days > 0) f.from_ms = cutoff_ms - std::int64_t{f.def.window_days} * kMsPerDay;
    f.rows = slot(0);
    switch (f.def.aggregation) {
      case Aggregation::kCount:
        break;
      case Aggregation::kRatio:
        f.matched = slot(0);
        break;
      case Aggregation::kDistinctCount:
        f.count = slot(0);
        f.distinct = static_cast<int>(distinct_.size());
        distinct_.emplace_back();
        break;
      case Aggregation::kLast:
        f.last_time = slot(kNoTime);
        [[fallthrough]];
      default:
        f.count = slot(0);
        f.value = slot(0);
        blank[static_cast<std::size_t>(f.value)].d = 0;
    }
    features_.push_back(std::move(f));
  }
  if (blank.empty()) slot(0);
  stride_ = blank.size();
  blank_ = std::move(blank);
}

void EntityFeatures::Grow(std::uint32_t entity) {
  std::size_t n = std::max<std::size_t>({std::size_t{entity} + 1, entities_ * 3 / 2, 1024});
  slots_.reserve(n * stride_);
  for (std::size_t e = entities_; e < n; ++e)
    slots_.insert(slots_.end(), blank_.begin(), blank_.end());
  entities_ = n;
}

void EntityFeatures::Add(std::size_t f, const FactRow& row, std::uint32_t entity,
                         std::int64_t time_ms) {
  const Feature& x = features_[f];
  Slot* r = Record(entity);
  r[x.rows].i++;
  switch (x.def.aggregation) {
    case Aggregation::kCount:
      return;
    case Aggregation::kRatio: {
      bool all = true;
      for (const auto& filter : x.def.numerator) all = all && filter.Matches(row);
      if (all) r[x.matched].i++;
      return;
    }
    default:
      break;
  }
  if (row.IsNull(x.def.column_index)) return;
  if (x.def.aggregation == Aggregation::kDistinctCount) {
    Distinct& d = distinct_[static_cast<std::size_t>(x.distinct)];
    if (x.def.column_is_int) {
      AddDistinct(d, entity, row.Int(x.def.column_index));
    } else {
      std::string key(sizeof entity, '\0');
      std::memcpy(key.data(), &entity, sizeof entity);
      key.append(row.Text(x.def.column_index));
      if (d.text.insert(std::move(key)).second) r[x.count].i++;
    }
    return;
  }
  const double v = row.Float(x.def.column_index);
  const bool first = r[x.count].i++ == 0;
  double& value = r[x.value].d;
  switch (x.def.aggregation) {
    case Aggregation::kMin:
      value = first ? v : std::min(value, v);
      break;
    case Aggregation::kMax:
      value = first ? v : std::max(value, v);
      break;
    case Aggregation::kLast:
      if (time_ms >= r[x.last_time].i) {
        r[x.last_time].i = time_ms;
        value = v;
      }
      break;
    default:
      value += v;  // sum, mean
  }
}

void EntityFeatures::AddDistinct(Distinct& d, std::uint32_t entity, std::int64_t value) {
  if (!d.use_pairs && (value < 0 || value > std::numeric_limits<std::uint32_t>::max())) {
    d.use_pairs = true;
    d.pairs.reserve(d.packed.size() + 1);
    for (std::uint64_t k : d.packed) {
      d.pairs.emplace_back(static_cast<std::uint32_t>(k >> 32),
                           static_cast<std::int64_t>(k & 0xffffffffu));
    }
    d.packed = {};
  }
  std::size_t size;
  if (d.use_pairs) {
    d.pairs.emplace_back(entity, value);
    size = d.pairs.size();
  } else {
    d.packed.push_back(std::uint64_t{entity} << 32 | static_cast<std::uint64_t>(value));
    size = d.packed.size();
  }
  if (size >= 2 * std::max<std::size_t>(d.compacted, 1 << 16)) Compact(d);
}

void EntityFeatures::Compact(Distinct& d) {
  if (d.use_pairs) {
    std::sort(d.pairs.begin(), d.pairs.end());
    d.pairs.erase(std::unique(d.pairs.begin(), d.pairs.end()), d.pairs.end());
    d.compacted = d.pairs.size();
  } else {
    RadixSort(d.packed);
    d.packed.erase(std::unique(d.packed.begin(), d.packed.end()), d.packed.end());
    d.compacted = d.packed.size();
  }
}

void EntityFeatures::Finish() {
  for (const Feature& x : features_) {
    if (x.distinct < 0) continue;
    Distinct& d = distinct_[static_cast<std::size_t>(x.distinct)];
    Compact(d);
    for (std::uint64_t k : d.packed) Record(static_cast<std::uint32_t>(k >> 32))[x.count].i++;
    for (const auto& [entity, value] : d.pairs) Record(entity)[x.count].i++;
    d = Distinct();
  }
}

bool EntityFeatures::Has(std::size_t f, std::uint32_t entity) const {
  return Record(entity)[features_[f].rows].i > 0;
}

double EntityFeatures::Value(std::size_t f, std::uint32_t entity) const {
  const Feature& x = features_[f];
  const Slot* r = Record(entity);
  const std::int64_t rows = r[x.rows].i;
  switch (x.def.aggregation) {
    case Aggregation::kCount:
      return static_cast<double>(rows);
    case Aggregation::kRatio:
      return rows ? static_cast<double>(r[x.matched].i) / static_cast<double>(rows) : 0;
    case Aggregation::kDistinctCount:
      return static_cast<double>(r[x.count].i);
    case Aggregation::kMean: {
      const std::int64_t count = r[x.count].i;
      return count ? r[x.value].d / static_cast<double>(count) : 0;
    }
    default:
      return r[x.count].i ? r[x.value].d : 0;  // sum, min, max, last
  }
}

}  // namespace reel::features
