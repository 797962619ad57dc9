#include "facts/example_data.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <date/date.h>
#include <doctest/doctest.h>

#include "engine/base/csv.h"
#include "engine/base/sha256.h"
#include "facts/time.h"
#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::ReadFile;
using reel::testing::TempDir;

namespace {

ExampleDataOptions Tiny(std::uint64_t seed = 3) {
  ExampleDataOptions o;
  o.users = 50;
  o.items = 40;
  o.days = 14;
  o.seed = seed;
  o.start = "2024-01-01";
  o.events_per_day = 300;
  return o;
}

std::vector<std::vector<std::string>> ReadCsv(const std::filesystem::path& path) {
  auto reader = CsvReader::Open(path);
  REQUIRE(reader.ok());
  std::vector<std::vector<std::string>> rows;
  CsvRecord rec;
  while ((*reader)->Next(rec)) {
    REQUIRE(rec.error.empty());
    rows.emplace_back(rec.fields.begin(), rec.fields.end());
  }
  return rows;
}

}  // namespace

TEST_CASE("example data: the same seed gives identical files, another seed different ones") {
  TempDir a, b, c;
  auto sa = WriteExampleData(a.path(), Tiny(3));
  auto sb = WriteExampleData(b.path(), Tiny(3));
  auto sc = WriteExampleData(c.path(), Tiny(4));
  REQUIRE(sa.ok());
  REQUIRE(sb.ok());
  REQUIRE(sc.ok());
  for (const char* f : {"items.csv", "users.csv", "viewing_history.csv", "thumbs.csv"}) {
    CHECK_MESSAGE(ReadFile(a / f) == ReadFile(b / f), f);
  }
  CHECK(ReadFile(a / "viewing_history.csv") != ReadFile(c / "viewing_history.csv"));
  CHECK(sa->events == sb->events);
  CHECK(sa->first_day == "2024-01-01");
  CHECK(sa->last_day == "2024-01-14");
}

TEST_CASE("example data: files have the documented columns, order and counts") {
  TempDir dir;
  auto summary = WriteExampleData(dir.path(), Tiny());
  REQUIRE(summary.ok());
  auto views = ReadCsv(dir / "viewing_history.csv");
  auto thumbs = ReadCsv(dir / "thumbs.csv");
  auto items = ReadCsv(dir / "items.csv");
  auto users = ReadCsv(dir / "users.csv");
  CHECK(views[0] == std::vector<std::string>{"event_id", "user_id", "item_id", "event_time",
                                             "watch_seconds", "device"});
  CHECK(thumbs[0] == std::vector<std::string>{"user_id", "item_id", "event_time", "thumb"});
  CHECK(items[0] ==
        std::vector<std::string>{"item_id", "title", "genre", "release_date", "runtime_seconds"});
  CHECK(users[0][0] == "user_id");
  CHECK(static_cast<std::int64_t>(views.size()) - 1 == summary->events);
  CHECK(static_cast<std::int64_t>(thumbs.size()) - 1 == summary->thumbs);
  CHECK(items.size() == 41);
  CHECK(users.size() == 51);
  CHECK(summary->events > 14 * 200);
  std::int64_t last_t = INT64_MIN;
  for (std::size_t i = 1; i < views.size(); ++i) {
    CHECK(views[i][0] == std::to_string(i));
    std::int64_t t;
    REQUIRE(ParseIso8601Ms(views[i][3], &t));
    CHECK(t >= last_t);
    last_t = t;
  }
  for (std::size_t i = 1; i < thumbs.size(); ++i) {
    CHECK((thumbs[i][3] == "1" || thumbs[i][3] == "-1"));
  }
}

TEST_CASE("example data: the planted structure is there") {
  TempDir dir;
  ExampleDataOptions o = Tiny();
  REQUIRE(WriteExampleData(dir.path(), o).ok());
  auto world = ExampleWorld::Build(o);
  REQUIRE(world.ok());
  auto items = ReadCsv(dir / "items.csv");
  std::map<std::string, int> genre_index;
  for (std::size_t g = 0; g < ExampleWorld::Genres().size(); ++g) {
    genre_index[ExampleWorld::Genres()[g]] = static_cast<int>(g);
  }
  std::vector<std::int32_t> release(items.size());
  std::vector<double> runtime(items.size());
  int released_during = 0;
  const std::int32_t start = *ParseDay(o.start);
  for (std::size_t i = 1; i < items.size(); ++i) {
    CHECK(genre_index.at(items[i][2]) == world->ItemGenre(static_cast<std::int64_t>(i)));
    release[i] = *ParseDay(items[i][3]);
    runtime[i] = std::stod(items[i][4]);
    released_during += release[i] >= start;
  }
  CHECK(released_during > 0);  // new items appear over time

  auto views = ReadCsv(dir / "viewing_history.csv");
  double liked = 0, chance = 0, frac_liked = 0, frac_other = 0, n_other = 0;
  std::map<int, double> per_weekday;
  for (std::size_t i = 1; i < views.size(); ++i) {
    std::int64_t user = std::stoll(views[i][1]);
    std::int64_t item = std::stoll(views[i][2]);
    std::int64_t t;
    REQUIRE(ParseIso8601Ms(views[i][3], &t));
    CHECK(DayOfMs(t) >= release[item]);  // nobody watches an unreleased item
    bool likes = world->UserLikesGenre(user, world->ItemGenre(item));
    liked += likes;
    double share = 0;
    for (std::size_t j = 1; j < items.size(); ++j) {
      share += world->UserLikesGenre(user, world->ItemGenre(static_cast<std::int64_t>(j)));
    }
    chance += share / static_cast<double>(items.size() - 1);
    double frac = std::stod(views[i][4]) / runtime[item];
    if (likes)
      frac_liked += frac;
    else {
      frac_other += frac;
      ++n_other;
    }
    per_weekday[date::weekday(date::sys_days(date::days(DayOfMs(t)))).c_encoding()] += 1;
  }
  const double n = static_cast<double>(views.size() - 1);
  MESSAGE("in-cluster share ", liked / n, " vs chance ", chance / n);
  CHECK(liked / n > 0.7);
  CHECK(liked / n > 2.5 * chance / n);
  REQUIRE(n_other > 0);
  CHECK(frac_liked / liked > frac_other / n_other + 0.2);  // longer watches when liked
  double weekend = (per_weekday[0] + per_weekday[6]) / 2;
  double midweek = (per_weekday[2] + per_weekday[3]) / 2;
  CHECK(weekend > 1.1 * midweek);

  auto thumbs = ReadCsv(dir / "thumbs.csv");
  double up_liked = 0, n_liked = 0, up_other = 0, n_oth = 0;
  for (std::size_t i = 1; i < thumbs.size(); ++i) {
    bool likes =
        world->UserLikesGenre(std::stoll(thumbs[i][0]), world->ItemGenre(std::stoll(thumbs[i][1])));
    bool up = thumbs[i][3] == "1";
    (likes ? up_liked : up_other) += up;
    (likes ? n_liked : n_oth) += 1;
  }
  REQUIRE(n_liked > 0);
  REQUIRE(n_oth > 0);
  CHECK(up_liked / n_liked > up_other / n_oth + 0.3);
}

TEST_CASE("example data: bad options are rejected with the flag to fix") {
  ExampleDataOptions o = Tiny();
  o.start = "2024-13-01";
  CHECK(ValidateExampleDataOptions(o).message().find("--start") != std::string::npos);
  o = Tiny();
  o.users = 0;
  CHECK(ValidateExampleDataOptions(o).message().find("--users") != std::string::npos);
}

TEST_CASE("example data: the default shape is unchanged by the ratings shape") {
  // The files of Tiny(3) as the viewing shape wrote them before there were other shapes.
  TempDir dir;
  ExampleDataOptions o = Tiny(3);
  ApplyShapeDefaults(o);  // the viewing shape keeps the options as given
  REQUIRE(WriteExampleData(dir.path(), o).ok());
  auto sha = [&](const char* f) {
    Sha256 h;
    h.Update(ReadFile(dir / f));
    return h.HexFinal();
  };
  CHECK(sha("items.csv") == "6a76d27e60fee6ea6673554d7cc1f783fad644a880ce7b2222f7322e1a0abdcb");
  CHECK(sha("users.csv") == "529dc7416053b57e8bf88bb406c1dc2a56d338264c26507d08d0f098f3c75eb5");
  CHECK(sha("viewing_history.csv") ==
        "53c864c2cee8936726b9a04e38b3ea06bfd8a13d864e05a9ba52f4dcff12c3bd");
  CHECK(sha("thumbs.csv") == "3a440e61e4d6c737dd3b79b4c059deb9a45fa3abdd48838d0d35cebd743da8c6");
  CHECK_FALSE(std::filesystem::exists(dir / "ratings.csv"));
}

namespace {

ExampleDataOptions Ratings(std::uint64_t seed = 5) {
  ExampleDataOptions o;
  o.shape = "ratings";
  o.users = 2000;
  o.items = 1000;
  o.days = 365;
  o.seed = seed;
  o.start = "2021-01-01";
  o.events_per_day = 60;
  return o;
}

struct RatingRow {
  std::int64_t user, item, t;
  std::string rating;
};

std::vector<RatingRow> ReadRatings(const std::filesystem::path& path) {
  auto rows = ReadCsv(path);
  REQUIRE(!rows.empty());
  CHECK(rows[0] == std::vector<std::string>{"userId", "movieId", "rating", "timestamp"});
  std::vector<RatingRow> out;
  for (std::size_t i = 1; i < rows.size(); ++i) {
    REQUIRE(rows[i].size() == 4);
    out.push_back(
        {std::stoll(rows[i][0]), std::stoll(rows[i][1]), std::stoll(rows[i][3]), rows[i][2]});
  }
  return out;
}

}  // namespace

TEST_CASE("example data: ratings are deterministic for a seed") {
  TempDir a, b, c;
  auto sa = WriteExampleData(a.path(), Ratings(5));
  REQUIRE_MESSAGE(sa.ok(), sa.status().message());
  REQUIRE(WriteExampleData(b.path(), Ratings(5)).ok());
  REQUIRE(WriteExampleData(c.path(), Ratings(6)).ok());
  CHECK(ReadFile(a / "ratings.csv") == ReadFile(b / "ratings.csv"));
  CHECK(ReadFile(a / "ratings.csv") != ReadFile(c / "ratings.csv"));
  CHECK_FALSE(std::filesystem::exists(a / "viewing_history.csv"));
  CHECK(sa->first_day == "2021-01-01");
  CHECK(sa->last_day == "2021-12-31");
  // About the volume asked for: 60 a day.
  CHECK(sa->events > 60 * 365 * 7 / 10);
  CHECK(sa->events < 60 * 365 * 13 / 10);
}

TEST_CASE("example data: ratings are half stars from 0.5 to 5, in time order, one per pair") {
  TempDir dir;
  REQUIRE(WriteExampleData(dir.path(), Ratings()).ok());
  const auto rows = ReadRatings(dir / "ratings.csv");
  const std::set<std::string> allowed = {"0.5", "1.0", "1.5", "2.0", "2.5",
                                         "3.0", "3.5", "4.0", "4.5", "5.0"};
  std::map<std::string, int> seen;
  std::set<std::pair<std::int64_t, std::int64_t>> pairs;
  const std::int64_t from = DayStartMs(*ParseDay("2021-01-01")) / 1000;
  const std::int64_t to = DayStartMs(*ParseDay("2022-01-01")) / 1000;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const RatingRow& r = rows[i];
    CHECK_MESSAGE(allowed.count(r.rating), r.rating);
    ++seen[r.rating];
    CHECK(r.user >= 1);
    CHECK(r.user <= 2000);
    CHECK(r.item >= 1);
    CHECK(r.item <= 1000);
    CHECK(r.t >= from);
    CHECK(r.t < to);
    if (i > 0) CHECK(rows[i - 1].t <= r.t);
    CHECK(pairs.insert({r.user, r.item}).second);
  }
  CHECK(seen.size() == allowed.size());  // every value occurs, half stars included
  CHECK(seen["4.0"] > seen["1.0"]);      // and ratings lean high, as in public logs
}

TEST_CASE("example data: ratings come in bursts, from a heavy tail of items, cold at the end") {
  TempDir dir;
  REQUIRE(WriteExampleData(dir.path(), Ratings()).ok());
  const auto rows = ReadRatings(dir / "ratings.csv");
  std::map<std::int64_t, std::set<std::int64_t>> weeks;  // by user
  std::map<std::int64_t, std::pair<std::int64_t, std::int64_t>> span;
  std::map<std::int64_t, std::int64_t> per_user, per_item;
  for (const RatingRow& r : rows) {
    weeks[r.user].insert(r.t / (7 * 86400));
    auto [it, fresh] = span.try_emplace(r.user, r.t, r.t);
    it->second.second = r.t;
    ++per_user[r.user];
    ++per_item[r.item];
  }
  // Bursts: a user with 10 or more ratings gives them in a few distinct weeks, yet some users
  // come back months later.
  double heavy = 0, heavy_weeks = 0;
  int long_lived = 0;
  for (const auto& [user, n] : per_user) {
    if (n >= 10) {
      ++heavy;
      heavy_weeks += static_cast<double>(weeks[user].size());
    }
    long_lived += span[user].second - span[user].first > 90 * 86400;
  }
  REQUIRE(heavy > 100);
  CHECK(heavy_weeks / heavy < 3);
  CHECK(long_lived > 50);
  // Heavy tail: the top 1% of items (10) hold far more than 1% of the ratings.
  std::vector<std::int64_t> counts;
  for (const auto& [item, n] : per_item) counts.push_back(n);
  std::sort(counts.rbegin(), counts.rend());
  std::int64_t top = 0;
  for (std::size_t i = 0; i < 10 && i < counts.size(); ++i) top += counts[i];
  CHECK(static_cast<double>(top) / static_cast<double>(rows.size()) > 0.15);
  // Cold holdout: most users rating in the last 7 days have no earlier rating.
  const std::int64_t cut = DayStartMs(*ParseDay("2021-12-25")) / 1000;
  int holdout_users = 0, cold = 0;
  for (const auto& [user, s] : span) {
    if (s.second < cut) continue;
    ++holdout_users;
    cold += s.first >= cut;
  }
  REQUIRE(holdout_users > 20);
  CHECK(cold * 2 > holdout_users);
}

TEST_CASE("example data: a shape's defaults and an unknown shape") {
  ExampleDataOptions o;
  o.shape = "ratings";
  ApplyShapeDefaults(o);
  CHECK(o.days == 1461);
  CHECK(o.start == "2020-01-01");
  ExampleDataOptions viewing;
  ApplyShapeDefaults(viewing);
  CHECK(viewing.days == 60);
  o.shape = "stars";
  Status s = ValidateExampleDataOptions(o);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message() == "--shape must be viewing or ratings, got 'stars'");
}
