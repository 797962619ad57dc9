#include "facts/fact_store.h"

#include <algorithm>
#include <random>
#include <vector>

#include <doctest/doctest.h>

#include "tests/support/fake_context.h"

using namespace reel;

namespace {

FactSchema EventSchema() {
  FactSchema s;
  s.columns = {{"user_id", ColumnType::kInt},
               {"event_time", ColumnType::kTimestamp},
               {"device", ColumnType::kString}};
  s.time_column = "event_time";
  return s;
}

struct Ev {
  std::int64_t user, t;
  std::string device;
};

FactTime At(std::int64_t ms) { return FactTime{std::chrono::milliseconds{ms}}; }
std::int64_t Ms(const char* iso) {
  std::int64_t ms = 0;
  REQUIRE(ParseIso8601Ms(iso, &ms));
  return ms;
}

Result<WriteOutcome> WriteDay(FactStore& store, const std::string& ds, const std::vector<Ev>& evs,
                              bool overwrite = false) {
  FactRows rows;
  for (const auto& e : evs) rows.Append({e.user, e.t, e.device}, e.t);
  return store.WritePartition({"views", FactKind::kEvent, ds, EventSchema(), overwrite, "r1"},
                              rows);
}

// Random events over `days` days from 2024-03-01, some exactly on midnight.
std::vector<Ev> RandomEvents(std::mt19937_64& rng, int days, int n) {
  const std::int64_t start = Ms("2024-03-01");
  std::vector<Ev> out;
  for (int i = 0; i < n; ++i) {
    std::int64_t day = static_cast<std::int64_t>(rng() % days);
    std::int64_t in_day = (rng() % 10 == 0) ? 0 : static_cast<std::int64_t>(rng() % kMsPerDay);
    out.push_back({static_cast<std::int64_t>(rng() % 50), start + day * kMsPerDay + in_day,
                   (rng() % 2) ? "tv" : "web"});
  }
  return out;
}

Status WriteAllDays(FactStore& store, const std::vector<Ev>& evs, int days) {
  const std::int32_t first = *ParseDay("2024-03-01");
  for (int d = 0; d < days; ++d) {
    std::vector<Ev> day;
    for (const auto& e : evs) {
      if (DayOfMs(e.t) == first + d) day.push_back(e);
    }
    auto r = WriteDay(store, FormatDay(first + d), day);
    if (!r.ok()) return r.status();
  }
  return Status::Ok();
}

}  // namespace

TEST_CASE("fact store: as_of on events equals a brute-force count, at every boundary") {
  testing::TempDir dir;
  auto store = FactStore::Open(dir / "facts.db");
  REQUIRE(store.ok());
  std::mt19937_64 rng(7);
  const int days = 8;
  auto evs = RandomEvents(rng, days, 3000);
  REQUIRE(WriteAllDays(**store, evs, days).ok());

  std::vector<std::int64_t> instants;
  const std::int64_t start = Ms("2024-03-01");
  for (int d = -1; d <= days + 1; ++d) {
    instants.push_back(start + d * kMsPerDay);      // midnight
    instants.push_back(start + d * kMsPerDay + 1);  // just after
    instants.push_back(start + d * kMsPerDay - 1);  // just before
  }
  for (int i = 0; i < 20; ++i)
    instants.push_back(start + static_cast<std::int64_t>(rng() % (days * kMsPerDay)));
  for (const auto& e : evs) {
    if (instants.size() > 80) break;
    instants.push_back(e.t);  // exactly an event's time: that event is not visible
  }
  for (std::int64_t t : instants) {
    std::int64_t expected = 0, expected_user_sum = 0;
    for (const auto& e : evs) {
      if (e.t < t) {
        ++expected;
        expected_user_sum += e.user;
      }
    }
    auto count = (*store)->CountAsOf("views", At(t));
    REQUIRE(count.ok());
    CHECK(*count == expected);
    std::int64_t visited = 0, user_sum = 0, last_t = INT64_MIN;
    bool ordered = true, all_before = true;
    REQUIRE((*store)
                ->AsOf("views", At(t),
                       [&](const FactRow& row) {
                         ++visited;
                         user_sum += row.Int(0);
                         ordered = ordered && row.TimeMs() >= last_t;
                         all_before = all_before && row.TimeMs() < t;
                         last_t = row.TimeMs();
                         return true;
                       })
                .ok());
    CHECK(visited == expected);
    CHECK(user_sum == expected_user_sum);
    CHECK(ordered);
    CHECK(all_before);
  }
}

TEST_CASE("fact store: facts added for later days never change as_of(T)") {
  testing::TempDir dir;
  auto store = FactStore::Open(dir / "facts.db");
  REQUIRE(store.ok());
  std::mt19937_64 rng(11);
  auto evs = RandomEvents(rng, 6, 1500);
  // Load the first four days only.
  std::vector<Ev> early, late;
  const std::int64_t cut = Ms("2024-03-05");
  for (const auto& e : evs) (e.t < cut ? early : late).push_back(e);
  REQUIRE(WriteAllDays(**store, early, 4).ok());
  auto snapshot = [&](std::int64_t t) {
    std::vector<std::string> seen;
    REQUIRE((*store)
                ->AsOf("views", At(t),
                       [&](const FactRow& row) {
                         seen.push_back(
                             fmt::format("{}|{}|{}", row.Int(0), row.TimeMs(), row.Text(2)));
                         return true;
                       })
                .ok());
    return seen;
  };
  auto before_midnight = snapshot(cut);
  auto before_mid_day = snapshot(Ms("2024-03-04T13:30:00Z"));
  // Now the later days arrive.
  const std::int32_t first = *ParseDay("2024-03-01");
  for (int d = 4; d < 6; ++d) {
    std::vector<Ev> day;
    for (const auto& e : late) {
      if (DayOfMs(e.t) == first + d) day.push_back(e);
    }
    REQUIRE(WriteDay(**store, FormatDay(first + d), day).ok());
  }
  CHECK(snapshot(cut) == before_midnight);
  CHECK(snapshot(Ms("2024-03-04T13:30:00Z")) == before_mid_day);
  CHECK(*(*store)->CountAsOf("views", At(Ms("2024-03-07"))) ==
        static_cast<std::int64_t>(evs.size()));
}

TEST_CASE("fact store: a state partition is visible from the end of its day") {
  testing::TempDir dir;
  auto store = FactStore::Open(dir / "facts.db");
  REQUIRE(store.ok());
  FactSchema schema;
  schema.columns = {{"user_id", ColumnType::kInt}, {"plan", ColumnType::kString}};
  auto write = [&](const char* ds, std::vector<std::vector<FactValue>> rows) {
    FactRows r;
    for (auto& v : rows) r.Append(v);
    return (*store)->WritePartition({"users", FactKind::kState, ds, schema, false, "r"}, r);
  };
  REQUIRE(write("2024-03-01", {{1, "basic"}}).ok());
  REQUIRE(write("2024-03-03", {{1, "premium"}, {2, "basic"}}).ok());
  auto plans_at = [&](const char* when) {
    std::vector<std::string> out;
    REQUIRE((*store)
                ->AsOf("users", *ParseInstant(when),
                       [&](const FactRow& row) {
                         out.push_back(fmt::format("{}:{}", row.Int(0), row.Text(1)));
                         return true;
                       })
                .ok());
    return out;
  };
  using V = std::vector<std::string>;
  CHECK(plans_at("2024-03-01") == V{});  // before the end of 03-01
  CHECK(plans_at("2024-03-01T23:59:59.999Z") == V{});
  CHECK(plans_at("2024-03-02") == V{"1:basic"});            // the end of 03-01
  CHECK(plans_at("2024-03-03T12:00:00Z") == V{"1:basic"});  // 03-03 not over yet
  CHECK(plans_at("2024-03-04") == V{"1:premium", "2:basic"});
  CHECK(plans_at("2030-01-01") == V{"1:premium", "2:basic"});
  CHECK(*(*store)->CountAsOf("users", *ParseInstant("2024-03-04")) == 2);
  CHECK(*(*store)->CountAsOf("users", *ParseInstant("2024-03-02")) == 1);
  CHECK(*(*store)->CountAsOf("users", *ParseInstant("2024-02-01")) == 0);
}

TEST_CASE("fact store: partitions are immutable; same content is a no-op, overwrite is recorded") {
  testing::TempDir dir;
  auto store = FactStore::Open(dir / "facts.db");
  REQUIRE(store.ok());
  const std::int64_t t0 = Ms("2024-03-01T10:00:00Z");
  std::vector<Ev> day = {{1, t0, "tv"}, {2, t0 + 5, "web"}, {3, t0 + 5, "tv"}};
  auto first = WriteDay(**store, "2024-03-01", day);
  REQUIRE(first.ok());
  CHECK(first->action == WriteOutcome::Action::kWritten);
  CHECK(first->rows == 3);

  std::vector<Ev> shuffled = {day[2], day[0], day[1]};
  auto again = WriteDay(**store, "2024-03-01", shuffled);
  REQUIRE(again.ok());
  CHECK(again->action == WriteOutcome::Action::kUnchanged);
  CHECK(again->content_hash == first->content_hash);

  std::vector<Ev> changed = day;
  changed[1].device = "mobile";
  auto conflict = WriteDay(**store, "2024-03-01", changed);
  REQUIRE(!conflict.ok());
  CHECK(conflict.status().code() == Status::Code::kConflict);
  CHECK(conflict.status().message().find("views/2024-03-01") != std::string::npos);
  CHECK(conflict.status().message().find("overwrite: true") != std::string::npos);
  std::vector<std::string> devices;
  REQUIRE((*store)
              ->ScanPartition("views", "2024-03-01",
                              [&](const FactRow& r) {
                                devices.emplace_back(r.Text(2));
                                return true;
                              })
              .ok());
  CHECK(devices == std::vector<std::string>{"tv", "web", "tv"});  // unchanged by the conflict

  auto over = WriteDay(**store, "2024-03-01", changed, /*overwrite=*/true);
  REQUIRE(over.ok());
  CHECK(over->action == WriteOutcome::Action::kOverwritten);
  CHECK(over->content_hash != first->content_hash);
  devices.clear();
  REQUIRE((*store)
              ->ScanPartition("views", "2024-03-01",
                              [&](const FactRow& r) {
                                devices.emplace_back(r.Text(2));
                                return true;
                              })
              .ok());
  CHECK(devices == std::vector<std::string>{"tv", "mobile", "tv"});
  auto events = (*store)->Events("views");
  REQUIRE(events.ok());
  REQUIRE(events->size() == 2);
  CHECK((*events)[0].action == "written");
  CHECK((*events)[1].action == "overwritten");
  CHECK((*events)[1].old_hash == first->content_hash);
  CHECK((*events)[1].new_hash == over->content_hash);
  auto parts = (*store)->Partitions("views");
  REQUIRE(parts.ok());
  REQUIRE(parts->size() == 1);
  CHECK((*parts)[0].content_hash == over->content_hash);
  CHECK((*parts)[0].rows == 3);
}

TEST_CASE("fact store: kind and schema are fixed by the first partition") {
  testing::TempDir dir;
  auto store = FactStore::Open(dir / "facts.db");
  REQUIRE(store.ok());
  REQUIRE(WriteDay(**store, "2024-03-01", {{1, Ms("2024-03-01T01:00:00Z"), "tv"}}).ok());
  FactSchema other = EventSchema();
  other.columns[2].name = "platform";
  FactRows rows;
  rows.Append({1, Ms("2024-03-02T01:00:00Z"), "tv"}, 0);
  auto r =
      (*store)->WritePartition({"views", FactKind::kEvent, "2024-03-02", other, false, "r"}, rows);
  REQUIRE(!r.ok());
  CHECK(r.status().code() == Status::Code::kConflict);
  CHECK(r.status().message().find("platform") != std::string::npos);
  auto k = (*store)->WritePartition(
      {"views", FactKind::kState, "2024-03-02", EventSchema(), false, "r"}, rows);
  REQUIRE(!k.ok());
  CHECK(k.status().message().find("event facts") != std::string::npos);
}

TEST_CASE("fact store: unknown tables list the known ones; missing stores are NotFound") {
  testing::TempDir dir;
  auto missing = FactStore::Open(dir / "nope.db", /*create=*/false);
  REQUIRE(!missing.ok());
  CHECK(missing.status().code() == Status::Code::kNotFound);
  auto store = FactStore::Open(dir / "facts.db");
  REQUIRE(store.ok());
  REQUIRE(WriteDay(**store, "2024-03-01", {}).ok());  // an empty partition is still a partition
  auto parts = (*store)->Partitions("viewz");
  REQUIRE(!parts.ok());
  CHECK(parts.status().code() == Status::Code::kNotFound);
  CHECK(parts.status().message().find("known tables: views") != std::string::npos);
  auto tables = (*store)->Tables();
  REQUIRE(tables.ok());
  REQUIRE(tables->size() == 1);
  CHECK((*tables)[0].partitions == 1);
  CHECK((*tables)[0].rows == 0);
  CHECK(!ValidateFactTableName("bad name").ok());
  CHECK(!ValidateFactTableName("1abc").ok());
  CHECK(ValidateFactTableName("_views_2").ok());
}
