#include "features/scan.h"

#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "facts/fact_store.h"
#include "tests/support/fake_context.h"

using namespace reel;
using namespace reel::features;
using reel::testing::ReadFile;
using reel::testing::TempDir;

namespace {

struct Event {
  std::int64_t user, item, t;
};

FactSchema ViewsSchema() {
  FactSchema s;
  s.columns = {{"user_id", ColumnType::kInt},
               {"item_id", ColumnType::kInt},
               {"event_time", ColumnType::kTimestamp}};
  s.time_column = "event_time";
  return s;
}

FeatureDef Feature(const char* json, const std::string& entity, const FactSchema& schema) {
  auto def = ParseFeature(nlohmann::json::parse(json), entity);
  REQUIRE_MESSAGE(def.ok(), def.status().message());
  REQUIRE(BindFeature(*def, schema).ok());
  return *def;
}

}  // namespace

TEST_CASE("feature scan: many daily partitions are read in a few range scans") {
  // 400 daily partitions of 3 events each; a run reads the interactions' days and an
  // all-history feature's days as range scans, not one query per partition.
  TempDir dir;
  auto store = FactStore::Open(dir / "facts.db");
  REQUIRE(store.ok());
  const FactSchema schema = ViewsSchema();
  const std::int32_t first = *ParseDay("2023-01-01");
  constexpr int kDays = 400;
  std::vector<Event> events;
  for (std::int32_t day = first; day < first + kDays; ++day) {
    FactRows rows;
    for (std::int64_t i = 0; i < 3; ++i) {
      const Event e{.user = 1 + (day + i) % 7,
                    .item = 1 + (day * 3 + i) % 5,
                    .t = DayStartMs(day) + i * 3600000 + 1};
      rows.Append({e.user, e.item, e.t}, e.t);
      events.push_back(e);
    }
    REQUIRE(
        (*store)
            ->WritePartition({"views", FactKind::kEvent, FormatDay(day), schema, false, "r"}, rows)
            .ok());
  }
  auto info = (*store)->Table("views");
  REQUIRE(info.ok());

  InteractionSpec spec{.fact = "views", .user_index = 0, .item_index = 1};
  spec.user_is_int = spec.item_is_int = true;
  const std::int64_t t_ms = DayStartMs(first + kDays - 10);  // partitions after T exist too
  const EtlTimes times{
      .train_from_ms = t_ms - 35 * kMsPerDay, .cutoff_ms = t_ms - 7 * kMsPerDay, .t_ms = t_ms};
  EntityFeatures features[2] = {
      EntityFeatures({Feature(R"({"name": "all", "fact": "views"})", "user", schema)},
                     times.cutoff_ms),
      EntityFeatures(
          {Feature(R"({"name": "week", "fact": "views", "window_days": 7})", "item", schema)},
          times.cutoff_ms)};
  Entities entities[2];
  CsvOut train(dir / "train.csv"), holdout(dir / "holdout.csv");
  InteractionSink sink{.spec = &spec, .train = &train, .holdout = &holdout};
  CancellationToken cancel;
  std::int64_t scanned = 0;
  const std::int64_t queries_before = (*store)->row_queries();
  REQUIRE(ScanFactTable(**store, *info, times, &sink, entities, features, cancel, &scanned).ok());
  REQUIRE(train.Close().ok());
  REQUIRE(holdout.Close().ok());
  CHECK((*store)->row_queries() - queries_before <= 3);

  // The same rows as a brute-force pass over every event.
  std::int64_t train_rows = 0, holdout_rows = 0, feature_rows = 0;
  std::map<std::int64_t, std::int64_t> all_by_user, week_by_item;
  for (const Event& e : events) {
    train_rows += e.t >= times.train_from_ms && e.t < times.cutoff_ms;
    holdout_rows += e.t >= times.cutoff_ms && e.t < times.t_ms;
    if (e.t < times.cutoff_ms) {
      ++feature_rows;
      ++all_by_user[e.user];
      if (e.t >= times.cutoff_ms - 7 * kMsPerDay) ++week_by_item[e.item];
    }
  }
  CHECK(sink.train_rows == train_rows);
  CHECK(sink.holdout_rows == holdout_rows);
  CHECK(scanned == train_rows + holdout_rows + feature_rows);
  features[0].Finish();
  features[1].Finish();
  for (auto [user, n] : all_by_user) {
    const std::uint32_t id = entities[0].index.FindInt(user);
    REQUIRE(id != EntityIndex::kNone);
    CHECK(features[0].Value(0, id) == doctest::Approx(static_cast<double>(n)));
  }
  for (auto [item, n] : week_by_item) {
    const std::uint32_t id = entities[1].index.FindInt(item);
    REQUIRE(id != EntityIndex::kNone);
    CHECK(features[1].Value(0, id) == doctest::Approx(static_cast<double>(n)));
  }
  CHECK(ReadFile(dir / "train.csv").size() > 0);
}
