// The `ratings` shape of `reel example-data` (facts/example_data.h): an explicit ratings log
// shaped like public rating logs. Users arrive over the whole period and rate in bursts (a
// few sessions, often years apart), item popularity is Zipf-like, ratings are 0.5..5 in half
// steps, and most users active at the end of the period have no earlier history.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <unordered_set>

#include <fmt/format.h>

#include "engine/base/fsutil.h"
#include "facts/example_data.h"
#include "facts/internal/example_data_random.h"
#include "facts/time.h"

namespace reel {
using example_data::CumulativeSampler;
using example_data::Rng;
using example_data::SplitMix64;

namespace {

struct Rating {
  std::int64_t t;  // epoch seconds
  std::int32_t user, item;
  std::int8_t halves;  // the rating times 2: 1..10
};

constexpr double kZipfExponent = 1.0;
constexpr double kLaterBurstChance = 0.3;  // after each burst, the chance of another one
constexpr double kMeanGapDays = 150;       // between a user's bursts
constexpr double kActivitySigma = 1.1;     // log-normal ratings per user

// Hours a session starts at (UTC), evening heavy.
const double kHourWeights[] = {3, 2, 1, 1, 1, 1, 1, 2, 3, 3, 4, 4,
                               4, 4, 4, 5, 5, 6, 7, 8, 8, 7, 6, 4};

// Items by Zipf-like popularity, in a random order of ids so popular items are not the first.
struct Items {
  CumulativeSampler sampler;
  std::vector<double> quality;  // a rating offset per item
  std::size_t n = 0;
};

Items BuildItems(Rng& rng, std::size_t n) {
  std::vector<std::size_t> rank(n);
  std::iota(rank.begin(), rank.end(), std::size_t{0});
  for (std::size_t i = n - 1; i > 0; --i) std::swap(rank[i], rank[rng.Below(i + 1)]);
  std::vector<double> weights(n);
  Items items;
  items.n = n;
  items.quality.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    weights[i] = 1.0 / std::pow(static_cast<double>(rank[i] + 1), kZipfExponent);
    // Popular items are rated a little higher, as in public logs.
    items.quality[i] = 0.45 * rng.Normal() + 0.3 * (rank[i] < n / 20 ? 1 : 0);
  }
  items.sampler.Assign(weights);
  return items;
}

int SessionHour(Rng& rng) {
  double total = 0;
  for (double w : kHourWeights) total += w;
  double u = rng.Uniform() * total;
  for (int h = 0; h < 24; ++h) {
    if ((u -= kHourWeights[h]) < 0) return h;
  }
  return 23;
}

}  // namespace

Result<ExampleDataSummary> WriteRatingsData(const std::filesystem::path& out_dir,
                                            const ExampleDataOptions& o) {
  REEL_RETURN_IF_ERROR(ValidateExampleDataOptions(o));
  auto started = std::chrono::steady_clock::now();
  const std::int32_t start = *ParseDay(o.start);
  const std::int32_t end = start + o.days;  // exclusive
  Rng world(SplitMix64(o.seed ^ 0xA71E5));
  const auto n_items = static_cast<std::size_t>(o.items);
  Items items = BuildItems(world, n_items);

  // Ratings per user: log-normal around the mean the options ask for, at most half the items.
  const double target = static_cast<double>(o.events_per_day) * o.days;
  const double mean = std::max(1.0, target / static_cast<double>(o.users));
  const double median = mean / std::exp(kActivitySigma * kActivitySigma / 2);
  const auto cap = std::max<std::int64_t>(1, o.items / 2);

  std::vector<Rating> ratings;
  ratings.reserve(static_cast<std::size_t>(std::min(target * 1.1, 2e8)));
  std::unordered_set<std::int32_t> rated;
  for (std::int64_t u = 0; u < o.users; ++u) {
    Rng rng(SplitMix64(o.seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(u)));
    const double bias = 0.45 * rng.Normal();
    const bool whole_stars = rng.Chance(0.35);  // some users never give half stars
    auto total =
        static_cast<std::int64_t>(std::llround(median * std::exp(kActivitySigma * rng.Normal())));
    total = std::clamp<std::int64_t>(total, 1, cap);
    // Bursts: the first on the day the user arrives, later ones months apart.
    std::vector<std::int32_t> bursts = {start + static_cast<std::int32_t>(rng.Below(o.days))};
    while (rng.Chance(kLaterBurstChance)) {
      const auto gap = static_cast<std::int32_t>(1 + -std::log(1 - rng.Uniform()) * kMeanGapDays);
      if (bursts.back() + gap >= end) break;
      bursts.push_back(bursts.back() + gap);
    }
    // The first burst holds most ratings; the rest share what is left.
    std::vector<std::int64_t> sizes(bursts.size(), 0);
    for (std::int64_t k = 0; k < total; ++k) {
      const std::size_t b =
          bursts.size() == 1 || rng.Chance(0.6) ? 0 : 1 + rng.Below(bursts.size() - 1);
      ++sizes[b];
    }
    rated.clear();
    for (std::size_t b = 0; b < bursts.size(); ++b) {
      // A burst is one to three sessions on consecutive days.
      const int sessions = 1 + static_cast<int>(rng.Below(3));
      std::int64_t left = sizes[b];
      for (int s = 0; s < sessions && left > 0; ++s) {
        const std::int32_t day = bursts[b] + s;
        const std::int64_t n = s + 1 == sessions ? left : (left + 1) / 2;
        left -= n;
        if (day >= end) continue;
        std::int64_t t = std::int64_t{day} * 86400 + SessionHour(rng) * 3600 +
                         static_cast<std::int64_t>(rng.Below(3600));
        for (std::int64_t k = 0; k < n; ++k) {
          t += 5 + static_cast<std::int64_t>(rng.Below(90));
          if (t >= std::int64_t{end} * 86400) break;
          std::int32_t item = -1;
          for (int tries = 0; tries < 50; ++tries) {
            auto i = static_cast<std::int32_t>(items.sampler.Sample(rng, n_items));
            if (rated.insert(i).second) {
              item = i;
              break;
            }
          }
          if (item < 0) break;  // the user has rated nearly every popular item
          const double r =
              3.5 + bias + items.quality[static_cast<std::size_t>(item)] + 0.85 * rng.Normal();
          const double step = whole_stars ? 2 : 1;  // in halves
          auto halves = static_cast<int>(std::lround(r * 2 / step) * step);
          halves = std::clamp(halves, whole_stars ? 2 : 1, 10);
          ratings.push_back({.t = t,
                             .user = static_cast<std::int32_t>(u),
                             .item = item,
                             .halves = static_cast<std::int8_t>(halves)});
        }
      }
    }
  }
  std::sort(ratings.begin(), ratings.end(), [](const Rating& x, const Rating& y) {
    if (x.t != y.t) return x.t < y.t;
    if (x.user != y.user) return x.user < y.user;
    return x.item < y.item;
  });

  REEL_RETURN_IF_ERROR(MakeDirs(out_dir));
  REEL_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(out_dir));
  std::string buf = "userId,movieId,rating,timestamp\n";
  for (const Rating& r : ratings) {
    fmt::format_to(std::back_inserter(buf), "{},{},{}.{},{}\n", r.user + 1, r.item + 1,
                   r.halves / 2, r.halves % 2 ? 5 : 0, r.t);
    if (buf.size() >= (1 << 20)) {
      REEL_RETURN_IF_ERROR(file.Append(buf));
      buf.clear();
    }
  }
  REEL_RETURN_IF_ERROR(file.Append(buf));
  REEL_RETURN_IF_ERROR(file.Commit(out_dir / "ratings.csv"));
  ExampleDataSummary summary;
  summary.events = static_cast<std::int64_t>(ratings.size());
  summary.users = o.users;
  summary.items = o.items;
  summary.first_day = FormatDay(start);
  summary.last_day = FormatDay(end - 1);
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return summary;
}

}  // namespace reel
