#include "facts/example_data.h"

#include <map>
#include <string>
#include <vector>

#include <date/date.h>
#include <doctest/doctest.h>

#include "engine/base/csv.h"
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
