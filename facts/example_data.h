// Synthetic viewing history for demos, tests and benchmarks (`reel example-data`).
//
// Writes four CSV files into a folder:
//   items.csv            item_id, title, genre, release_date, runtime_seconds
//   users.csv            user_id, signup_date, country, plan, preferred_device
//   viewing_history.csv  event_id, user_id, item_id, event_time, watch_seconds, device
//   thumbs.csv           user_id, item_id, event_time, thumb (+1 / -1)
// Times are ISO-8601 UTC with seconds ("2024-01-05T19:22:05Z"), dates YYYY-MM-DD; ids are
// integers from 1. viewing_history.csv is in event-time order with increasing event ids.
//
// Planted structure, so that a learned model clearly beats popularity:
//   - every user belongs to a hidden taste cluster that prefers two genres, and each cluster
//     has its own taste within those genres; ~80% of a user's watches come from them;
//   - item popularity follows a power law; new items are released during the period, get a
//     launch boost, and can only be watched from their release day on;
//   - volume has a weekly (weekend high) and daily (evening peak) rhythm; users sign up over
//     time and have power-law activity;
//   - watch duration and thumbs (+1 / -1) rise with the user's affinity for the item's genre.
//
// Shape `ratings` (WriteRatingsData, facts/example_ratings.cc) writes instead one file shaped
// like public explicit rating logs:
//   ratings.csv          userId, movieId, rating (0.5..5 in half steps), timestamp (epoch s)
// users arrive over the period and rate in bursts of sessions (most of a user's ratings fall in
// a few weeks, later bursts months apart), item popularity is Zipf-like, and most users active
// at the end of the period have no earlier history. It holds every rating in memory.
//
// Deterministic: the same options give byte-identical files (own uniform/normal samplers over
// std::mt19937_64, whose sequence the C++ standard fixes). Memory is O(users + items + one
// day of events): the event files stream to disk, each written atomically (temp + rename).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "reel/status.h"

namespace reel {

struct ExampleDataOptions {
  std::string shape = "viewing";  // or "ratings"
  std::int64_t users = 5000;
  std::int64_t items = 1000;
  std::int32_t days = 60;
  std::uint64_t seed = 42;
  std::string start = "2024-01-01";    // first day of events (UTC)
  std::int64_t events_per_day = 3400;  // average; weekdays lower, weekends higher
};

struct ExampleDataSummary {
  std::int64_t events = 0, thumbs = 0, users = 0, items = 0;
  std::string first_day, last_day;
  double seconds = 0;
};

// The shapes, by name: "viewing" (the default) and "ratings".
const std::vector<std::string>& ExampleDataShapes();
// Sets the sizes a shape is usually generated with; the viewing defaults are the members'.
void ApplyShapeDefaults(ExampleDataOptions& options);

// Checks the options: a known shape, positive sizes, a valid start date, at most 10^9 events
// (2 * 10^8 ratings).
Status ValidateExampleDataOptions(const ExampleDataOptions& options);

// Writes the files of `options.shape`.
Result<ExampleDataSummary> WriteExampleData(const std::filesystem::path& out_dir,
                                            const ExampleDataOptions& options);
Result<ExampleDataSummary> WriteRatingsData(const std::filesystem::path& out_dir,
                                            const ExampleDataOptions& options);

// The hidden structure behind a data set, rebuilt from the options alone (no files). Ids are
// 1-based as in the CSV files.
class ExampleWorld {
 public:
  static Result<ExampleWorld> Build(const ExampleDataOptions& options);

  static const std::vector<std::string>& Genres();
  int clusters() const { return static_cast<int>(cluster_genres_.size()); }
  int UserCluster(std::int64_t user_id) const { return user_cluster_[user_id - 1]; }
  // Indices into Genres(); the first is the cluster's main genre.
  const std::vector<int>& ClusterGenres(int cluster) const { return cluster_genres_[cluster]; }
  int ItemGenre(std::int64_t item_id) const { return item_genre_[item_id - 1]; }
  bool UserLikesGenre(std::int64_t user_id, int genre) const;

 private:
  friend class ExampleGenerator;
  std::vector<std::vector<int>> cluster_genres_;
  std::vector<int> user_cluster_;
  std::vector<int> item_genre_;
};

}  // namespace reel
