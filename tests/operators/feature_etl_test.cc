#include "operators/feature_etl.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "facts/fact_store.h"
#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::FakeContext;
using reel::testing::ReadFile;
using reel::testing::TempDir;

namespace {

// Facts of the test world, from 2024-03-01. The run is for T = 2024-03-20 with train_days 7
// and holdout_days 3: training [03-10, 03-17), holdout [03-17, 03-20), features as of 03-17.
struct View {
  std::int64_t user, item, t;
  std::optional<std::int64_t> watch;
  std::string device;
};
struct Thumb {
  std::int64_t user, item, t, thumb;
};
struct StateRow {
  std::int32_t day;
  std::int64_t user, credits;
};

std::int64_t Ms(const char* iso) { return ParseInstant(iso)->time_since_epoch().count(); }
constexpr std::int64_t kT = 1710892800000;     // 2024-03-20, checked below
constexpr std::int64_t kC = 1710633600000;     // 2024-03-17
constexpr std::int64_t kFrom = 1710028800000;  // 2024-03-10
constexpr int kDays = 25;  // 03-01 .. 03-25: facts at and after T exist in the store too

struct World {
  std::vector<View> views;
  std::vector<Thumb> thumbs;
  std::vector<StateRow> state;
};

World MakeWorld(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const char* devices[] = {"tv", "web", "mobile"};
  World w;
  const std::int64_t start = Ms("2024-03-01");
  for (int d = 0; d < kDays; ++d) {
    for (int i = 0; i < 120; ++i) {  // distinct times: the ms part is i + 1
      std::int64_t t =
          start + d * kMsPerDay + static_cast<std::int64_t>(rng() % 86400) * 1000 + i + 1;
      std::optional<std::int64_t> watch;
      if (rng() % 20 != 0) watch = static_cast<std::int64_t>(rng() % 3000);
      w.views.push_back({static_cast<std::int64_t>(1 + rng() % 30),
                         static_cast<std::int64_t>(1 + rng() % 25), t, watch, devices[rng() % 3]});
    }
    for (int i = 0; i < 30; ++i) {
      std::int64_t t =
          start + d * kMsPerDay + static_cast<std::int64_t>(rng() % 86400) * 1000 + i + 1;
      w.thumbs.push_back({static_cast<std::int64_t>(1 + rng() % 30),
                          static_cast<std::int64_t>(1 + rng() % 25), t, rng() % 3 ? 1 : -1});
    }
  }
  // Exactly on the window boundaries (users 31..36).
  for (auto [user, t] :
       {std::pair{31, kFrom}, {32, kFrom - 1}, {33, kC - 1}, {34, kC}, {35, kT - 1}, {36, kT}}) {
    w.views.push_back({user, 7, t, 100, "tv"});
  }
  // Exactly on feature window boundaries (3, 5 and 10 days before the cutoff), and 1 ms off.
  for (auto [user, t] : {std::pair{1, kC - 5 * kMsPerDay},
                         {2, kC - 3 * kMsPerDay},
                         {3, kC - 10 * kMsPerDay},
                         {4, kC - 5 * kMsPerDay - 1}}) {
    w.views.push_back({user, 7, t, 1500, "web"});
  }
  for (const char* ds : {"2024-03-10", "2024-03-16", "2024-03-17", "2024-03-22"}) {
    std::int32_t day = *ParseDay(ds);
    for (std::int64_t u = 1; u <= 20; ++u) w.state.push_back({day, u, u * 10 + day % 7});
  }
  return w;
}

FactSchema Schema(std::vector<FactColumn> columns, std::string time_column) {
  FactSchema s;
  s.columns = std::move(columns);
  s.time_column = std::move(time_column);
  return s;
}

// Writes the partitions of days [first, last] of every table.
void WriteDays(const std::filesystem::path& db, const World& w, std::int32_t first,
               std::int32_t last) {
  auto store = FactStore::Open(db);
  REQUIRE(store.ok());
  FactSchema views = Schema({{"user_id", ColumnType::kInt},
                             {"item_id", ColumnType::kInt},
                             {"event_time", ColumnType::kTimestamp},
                             {"watch_seconds", ColumnType::kInt},
                             {"device", ColumnType::kString}},
                            "event_time");
  FactSchema thumbs = Schema({{"user_id", ColumnType::kInt},
                              {"item_id", ColumnType::kInt},
                              {"event_time", ColumnType::kTimestamp},
                              {"thumb", ColumnType::kInt}},
                             "event_time");
  FactSchema state = Schema({{"user_id", ColumnType::kInt}, {"credits", ColumnType::kInt}}, "");
  for (std::int32_t day = first; day <= last; ++day) {
    FactRows v, t, s;
    for (const auto& e : w.views) {
      if (DayOfMs(e.t) != day) continue;
      FactValue watch = e.watch ? FactValue(*e.watch) : FactValue();
      v.Append({e.user, e.item, e.t, watch, e.device}, e.t);
    }
    for (const auto& e : w.thumbs) {
      if (DayOfMs(e.t) == day) t.Append({e.user, e.item, e.t, e.thumb}, e.t);
    }
    bool has_state = false;
    for (const auto& e : w.state) {
      if (e.day != day) continue;
      s.Append({e.user, e.credits}, 0);
      has_state = true;
    }
    std::string ds = FormatDay(day);
    REQUIRE((*store)->WritePartition({"views", FactKind::kEvent, ds, views, false, "r"}, v).ok());
    REQUIRE((*store)->WritePartition({"thumbs", FactKind::kEvent, ds, thumbs, false, "r"}, t).ok());
    if (has_state) {
      REQUIRE((*store)
                  ->WritePartition({"user_state", FactKind::kState, ds, state, false, "r"}, s)
                  .ok());
    }
  }
}

// One feature: its definition and an independent computation of it.
struct Obs {
  std::int64_t t;
  std::optional<double> v;  // the aggregated column
  std::string text;         // the aggregated column as text (distinct_count)
  bool numerator = false;
};
struct Expected {
  Json def;
  // Observations of `entity` visible at C, before the window and filter are applied.
  std::function<std::vector<Obs>(const World&, std::int64_t entity)> rows;
  std::function<bool(const Obs&)> filter = [](const Obs&) { return true; };
};

double Aggregate(const std::string& agg, const std::vector<Obs>& obs) {
  std::vector<const Obs*> values;
  for (const auto& o : obs) {
    if (o.v) values.push_back(&o);
  }
  if (agg == "count") return static_cast<double>(obs.size());
  if (agg == "ratio") {
    if (obs.empty()) return 0;
    return static_cast<double>(
               std::count_if(obs.begin(), obs.end(), [](const Obs& o) { return o.numerator; })) /
           static_cast<double>(obs.size());
  }
  if (agg == "distinct_count") {
    std::set<std::string> distinct;
    for (const auto* o : values) distinct.insert(o->text);
    return static_cast<double>(distinct.size());
  }
  if (values.empty()) return 0;
  double sum = 0, mn = *values[0]->v, mx = mn;
  const Obs* last = values[0];
  for (const auto* o : values) {
    sum += *o->v;
    mn = std::min(mn, *o->v);
    mx = std::max(mx, *o->v);
    if (o->t >= last->t) last = o;
  }
  if (agg == "sum") return sum;
  if (agg == "mean") return sum / static_cast<double>(values.size());
  if (agg == "min") return mn;
  if (agg == "max") return mx;
  REQUIRE(agg == "last");
  return *last->v;
}

double ExpectedValue(const Expected& e, const World& w, std::int64_t entity) {
  int window = e.def.value("window_days", 0);
  std::vector<Obs> kept;
  for (const auto& o : e.rows(w, entity)) {
    if (o.t >= kC || (window > 0 && o.t < kC - window * kMsPerDay)) continue;
    if (e.filter(o)) kept.push_back(o);
  }
  return Aggregate(e.def.value("aggregation", "count"), kept);
}

// Views of a user (or an item) with `column` as the value.
std::function<std::vector<Obs>(const World&, std::int64_t)> Views(bool by_user,
                                                                  std::string column) {
  return [=](const World& w, std::int64_t entity) {
    std::vector<Obs> out;
    for (const auto& v : w.views) {
      if ((by_user ? v.user : v.item) != entity) continue;
      Obs o{v.t, std::nullopt, "", v.device == "tv"};
      if (column == "watch_seconds" && v.watch) o.v = static_cast<double>(*v.watch);
      if (column == "watch_seconds" && v.watch) o.text = std::to_string(*v.watch);
      if (column == "item_id")
        o = {v.t, static_cast<double>(v.item), std::to_string(v.item), false};
      if (column == "user_id")
        o = {v.t, static_cast<double>(v.user), std::to_string(v.user), false};
      if (column == "device") o = {v.t, 0.0, v.device, false};
      if (column == "filter") {
        o.text = v.device;
        o.v = v.watch ? static_cast<double>(*v.watch) : -1.0;
      }
      out.push_back(o);
    }
    return out;
  };
}

std::vector<Expected> Features() {
  auto watch_at_least = [](double n) { return [n](const Obs& o) { return o.v && *o.v >= n; }; };
  std::vector<Expected> f = {
      {{{"name", "watches_all"}, {"fact", "views"}}, Views(true, "")},
      {{{"name", "watches_5d"}, {"fact", "views"}, {"window_days", 5}}, Views(true, "")},
      {{{"name", "watch_sum_10d"},
        {"fact", "views"},
        {"aggregation", "sum"},
        {"column", "watch_seconds"},
        {"window_days", 10}},
       Views(true, "watch_seconds")},
      {{{"name", "watch_mean_5d"},
        {"fact", "views"},
        {"aggregation", "mean"},
        {"column", "watch_seconds"},
        {"window_days", 5}},
       Views(true, "watch_seconds")},
      {{{"name", "watch_min"},
        {"fact", "views"},
        {"aggregation", "min"},
        {"column", "watch_seconds"}},
       Views(true, "watch_seconds")},
      {{{"name", "watch_max_5d"},
        {"fact", "views"},
        {"aggregation", "max"},
        {"column", "watch_seconds"},
        {"window_days", 5}},
       Views(true, "watch_seconds")},
      {{{"name", "items_5d"},
        {"fact", "views"},
        {"aggregation", "distinct_count"},
        {"column", "item_id"},
        {"window_days", 5}},
       Views(true, "item_id")},
      {{{"name", "devices"},
        {"fact", "views"},
        {"aggregation", "distinct_count"},
        {"column", "device"}},
       Views(true, "device")},
      {{{"name", "last_watch"},
        {"fact", "views"},
        {"aggregation", "last"},
        {"column", "watch_seconds"}},
       Views(true, "watch_seconds")},
      {{{"name", "tv_share_10d"},
        {"fact", "views"},
        {"aggregation", "ratio"},
        {"window_days", 10},
        {"numerator", {{"column", "device"}, {"value", "tv"}}}},
       Views(true, "")},
      {{{"name", "long_5d"},
        {"fact", "views"},
        {"window_days", 5},
        {"filter", {{"column", "watch_seconds"}, {"op", ">="}, {"value", 1000}}}},
       Views(true, "filter"),
       watch_at_least(1000)},
      {{{"name", "not_tv_3d"},
        {"fact", "views"},
        {"window_days", 3},
        {"filter", {{"column", "device"}, {"op", "in"}, {"value", {"mobile", "web"}}}}},
       Views(true, "filter"),
       [](const Obs& o) { return o.text != "tv"; }},
      {{{"name", "thumbs_up"},
        {"fact", "thumbs"},
        {"aggregation", "ratio"},
        {"numerator", {{"column", "thumb"}, {"op", "=="}, {"value", 1}}}},
       [](const World& w, std::int64_t user) {
         std::vector<Obs> out;
         for (const auto& t : w.thumbs) {
           if (t.user == user) out.push_back({t.t, std::nullopt, "", t.thumb == 1});
         }
         return out;
       }},
      {{{"name", "credits"},
        {"fact", "user_state"},
        {"aggregation", "last"},
        {"column", "credits"}},
       [](const World& w, std::int64_t user) {  // the state at the end of 03-16
         std::vector<Obs> out;
         for (const auto& s : w.state) {
           if (s.user == user && s.day == *ParseDay("2024-03-16")) {
             out.push_back({kC - 1, static_cast<double>(s.credits), "", false});
           }
         }
         return out;
       }},
      {{{"name", "views_3d"}, {"fact", "views"}, {"window_days", 3}}, Views(false, "")},
      {{{"name", "avg_watch"},
        {"fact", "views"},
        {"aggregation", "mean"},
        {"column", "watch_seconds"}},
       Views(false, "watch_seconds")},
      {{{"name", "viewers_10d"},
        {"fact", "views"},
        {"aggregation", "distinct_count"},
        {"column", "user_id"},
        {"window_days", 10}},
       Views(false, "user_id")},
  };
  return f;
}
constexpr std::size_t kUserFeatures = 14;

Json Config() {
  Json user = Json::array(), item = Json::array();
  auto all = Features();
  for (std::size_t i = 0; i < all.size(); ++i)
    (i < kUserFeatures ? user : item).push_back(all[i].def);
  return Json{{"ds", "2024-03-20"},
              {"train_days", 7},
              {"holdout_days", 3},
              {"interactions",
               {{"fact", "views"},
                {"weight", "watch_seconds"},
                {"filter", {{"column", "watch_seconds"}, {"op", ">="}, {"value", 60}}}}},
              {"user_features", user},
              {"item_features", item}};
}

std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::istringstream ls(line);
    std::string field;
    while (std::getline(ls, field, ',')) fields.push_back(field);
    rows.push_back(fields);
  }
  return rows;
}

std::string Artifact(const FakeContext& ctx, const char* name) {
  auto path = ctx.ArtifactPath(ctx.outputs.at(name).get<std::string>());
  REQUIRE(path.ok());
  return ReadFile(*path);
}

// The interactions a brute-force reading of the world gives for [from, to).
std::string ExpectedInteractions(const World& w, std::int64_t from, std::int64_t to) {
  std::vector<View> kept;
  for (const auto& v : w.views) {
    if (v.t >= from && v.t < to && v.watch && *v.watch >= 60) kept.push_back(v);
  }
  std::sort(kept.begin(), kept.end(), [](const View& a, const View& b) { return a.t < b.t; });
  std::string out = "user_id,item_id,weight,ts\n";
  for (const auto& v : kept)
    out += fmt::format("{},{},{},{}\n", v.user, v.item, *v.watch, v.t / 1000);
  return out;
}

// Checks the features `which` (indexes into Features()), the columns of `csv` in that order.
void CheckFeatures(const World& w, const std::string& csv, const std::vector<std::size_t>& which,
                   const std::string& entity, const std::set<std::int64_t>& entities) {
  auto all = Features();
  auto rows = ParseCsv(csv);
  REQUIRE(rows.size() == entities.size() + 1);
  std::vector<std::string> header = {entity + "_id"};
  for (std::size_t i : which) header.push_back(all[i].def["name"].get<std::string>());
  CHECK(rows[0] == header);
  auto it = entities.begin();
  for (std::size_t r = 1; r < rows.size(); ++r, ++it) {
    REQUIRE(rows[r].size() == header.size());
    CHECK(rows[r][0] == std::to_string(*it));
    for (std::size_t c = 0; c < which.size(); ++c) {
      double expected = ExpectedValue(all[which[c]], w, *it);
      INFO(entity, " ", *it, " feature ", header[c + 1]);
      CHECK(std::stod(rows[r][c + 1]) == doctest::Approx(expected).epsilon(1e-12));
    }
  }
}

void CheckFeatures(const World& w, const std::string& csv, std::size_t first, std::size_t last,
                   const std::string& entity, const std::set<std::int64_t>& entities) {
  std::vector<std::size_t> which;
  for (std::size_t i = first; i < last; ++i) which.push_back(i);
  CheckFeatures(w, csv, which, entity, entities);
}

Status RunEtl(FakeContext& ctx, const Json& config) {
  ctx.config_ = config;
  FeatureEtlOperator op;
  return op.Execute(ctx);
}

}  // namespace

TEST_CASE("feature_etl: features match a brute-force computation; later facts change nothing") {
  REQUIRE(kT == Ms("2024-03-20"));
  REQUIRE(kC == Ms("2024-03-17"));
  REQUIRE(kFrom == Ms("2024-03-10"));
  TempDir dir;
  const World w = MakeWorld(7);
  const auto db = dir / "home" / "facts.db";
  WriteDays(db, w, *ParseDay("2024-03-01"), *ParseDay("2024-03-19"));  // up to ds - 1

  FakeContext before(dir / "home", FeatureEtlOperator::Info());
  Status s = RunEtl(before, Config());
  REQUIRE_MESSAGE(s.ok(), s.message());

  // Facts for ds and later arrive; the run for ds gives byte-identical artifacts.
  WriteDays(db, w, *ParseDay("2024-03-20"), *ParseDay("2024-03-25"));
  FakeContext ctx(dir / "home", FeatureEtlOperator::Info());
  s = RunEtl(ctx, Config());
  REQUIRE_MESSAGE(s.ok(), s.message());
  for (const char* name : {"interactions", "holdout", "user_features", "item_features"}) {
    CHECK_MESSAGE(Artifact(before, name) == Artifact(ctx, name), name);
  }
  CHECK(before.outputs["definitions_hash"] == ctx.outputs["definitions_hash"]);

  // Training [03-10, 03-17) and holdout [03-17, 03-20), exactly.
  CHECK(ctx.outputs["train_from"] == "2024-03-10");
  CHECK(ctx.outputs["cutoff"] == "2024-03-17");
  const std::string train = Artifact(ctx, "interactions"), holdout = Artifact(ctx, "holdout");
  CHECK(train == ExpectedInteractions(w, kFrom, kC));
  CHECK(holdout == ExpectedInteractions(w, kC, kT));
  auto has_user = [](const std::string& csv, int user) {
    return csv.find(fmt::format("\n{},7,100,", user)) != std::string::npos;
  };
  CHECK(has_user(train, 31));        // at 03-10 00:00: the first instant of training
  CHECK_FALSE(has_user(train, 32));  // 1 ms before
  CHECK(has_user(train, 33));        // 03-16 23:59:59.999
  CHECK_FALSE(has_user(train, 34));
  CHECK(has_user(holdout, 34));        // at the cutoff: the first instant of the holdout
  CHECK(has_user(holdout, 35));        // 1 ms before ds
  CHECK_FALSE(has_user(holdout, 36));  // at ds: never read
  CHECK(ctx.outputs["train_rows"] == ParseCsv(train).size() - 1);
  CHECK(ctx.outputs["holdout_rows"] == ParseCsv(holdout).size() - 1);

  // Features as of the cutoff, for the users and items of the training interactions.
  std::set<std::int64_t> users, items;
  for (const auto& v : w.views) {
    if (v.t >= kFrom && v.t < kC && v.watch && *v.watch >= 60) {
      users.insert(v.user);
      items.insert(v.item);
    }
  }
  CHECK(ctx.outputs["users"] == users.size());
  CHECK(ctx.outputs["items"] == items.size());
  CheckFeatures(w, Artifact(ctx, "user_features"), 0, kUserFeatures, "user", users);
  CheckFeatures(w, Artifact(ctx, "item_features"), kUserFeatures, Features().size(), "item", items);
  CHECK(ctx.Metric("feature.user.watches_all.coverage") == 1.0);
  CHECK(ctx.Metric("feature.user.credits.coverage") < 1.0);  // users 21.. have no state
  CHECK(ctx.Metric("train_rows") == ctx.outputs["train_rows"].get<double>());
  REQUIRE(ctx.events.size() == 1);
  CHECK(ctx.events[0].first == "features.definitions");
  CHECK(ctx.events[0].second["hash"] == ctx.outputs["definitions_hash"]);
}

TEST_CASE("feature_etl: features of numbers only match a brute-force computation") {
  // No text is compared or counted here, so the scan takes its path for rows of numbers.
  TempDir dir;
  const World w = MakeWorld(5);
  WriteDays(dir / "home" / "facts.db", w, *ParseDay("2024-03-01"), *ParseDay("2024-03-25"));
  const std::vector<std::size_t> user_features = {0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 13};
  const std::vector<std::size_t> item_features = {14, 15, 16};
  Json config = Config();
  auto all = Features();
  config["user_features"] = Json::array();
  config["item_features"] = Json::array();
  for (std::size_t i : user_features) config["user_features"].push_back(all[i].def);
  for (std::size_t i : item_features) config["item_features"].push_back(all[i].def);
  FakeContext ctx(dir / "home", FeatureEtlOperator::Info());
  Status s = RunEtl(ctx, config);
  REQUIRE_MESSAGE(s.ok(), s.message());
  CHECK(Artifact(ctx, "interactions") == ExpectedInteractions(w, kFrom, kC));
  CHECK(Artifact(ctx, "holdout") == ExpectedInteractions(w, kC, kT));
  std::set<std::int64_t> users, items;
  for (const auto& v : w.views) {
    if (v.t >= kFrom && v.t < kC && v.watch && *v.watch >= 60) {
      users.insert(v.user);
      items.insert(v.item);
    }
  }
  CheckFeatures(w, Artifact(ctx, "user_features"), user_features, "user", users);
  CheckFeatures(w, Artifact(ctx, "item_features"), item_features, "item", items);
}

TEST_CASE("feature_etl: errors name the problem and the fix") {
  TempDir dir;
  const World w = MakeWorld(3);
  auto error = [&](const std::function<void(Json&)>& edit) {
    FakeContext ctx(dir / "home", FeatureEtlOperator::Info());
    Json config = Config();
    edit(config);
    Status s = RunEtl(ctx, config);
    CHECK_FALSE(s.ok());
    return s.message();
  };
  CHECK(error([](Json&) {}).find("no fact store at") != std::string::npos);
  WriteDays(dir / "home" / "facts.db", w, *ParseDay("2024-03-01"), *ParseDay("2024-03-19"));

  std::string m = error([](Json& c) { c["interactions"]["fact"] = "viewz"; });
  CHECK(m.find("no fact table 'viewz'") != std::string::npos);
  CHECK(m.find("known tables: thumbs, user_state, views") != std::string::npos);
  m = error([](Json& c) { c["user_features"][0]["fact"] = "clicks"; });
  CHECK(m.find("feature 'watches_all'") != std::string::npos);
  CHECK(m.find("known tables: thumbs, user_state, views") != std::string::npos);
  m = error([](Json& c) { c["user_features"][2]["column"] = "watch_secs"; });
  CHECK(m.find("feature 'watch_sum_10d'") != std::string::npos);
  CHECK(m.find("no column 'watch_secs'") != std::string::npos);
  CHECK(m.find("watch_seconds int") != std::string::npos);  // lists the table's columns
  m = error([](Json& c) { c["interactions"]["weight"] = "seconds"; });
  CHECK(m.find("no column 'seconds' (the weight column") != std::string::npos);
  m = error([](Json& c) { c["item_features"][0]["filter"] = {{"column", "dev"}, {"value", 1}}; });
  CHECK(m.find("no column 'dev'") != std::string::npos);
  m = error([](Json& c) { c["user_features"][3]["aggregation"] = "median"; });
  CHECK(m.find("unknown aggregation 'median'") != std::string::npos);
  CHECK(m.find("distinct_count") != std::string::npos);
  m = error([](Json& c) { c["user_features"][3].erase("column"); });
  CHECK(m.find("aggregation 'mean' needs 'column'") != std::string::npos);
  m = error([](Json& c) { c["user_features"][1]["windw_days"] = 3; });
  CHECK(m.find("did you mean 'window_days'") != std::string::npos);
  m = error([](Json& c) { c["user_features"][1]["window_days"] = -1; });
  CHECK(m.find("window_days must be an integer >= 0") != std::string::npos);
  m = error([](Json& c) { c["user_features"][9].erase("numerator"); });
  CHECK(m.find("needs 'numerator'") != std::string::npos);
  m = error([](Json& c) {
    c["user_features"][1]["filter"] = {{"column", "device"}, {"op", "~"}, {"value", "tv"}};
  });
  CHECK(m.find("unknown filter op '~'") != std::string::npos);
  m = error([](Json& c) { c["user_features"][1]["name"] = "watches_all"; });
  CHECK(m.find("duplicate feature name 'watches_all'") != std::string::npos);
  m = error([](Json& c) { c["interactions"]["fact"] = "user_state"; });
  CHECK(m.find("'user_state' is a state table") != std::string::npos);
  m = error([](Json& c) { c["holdout_days"] = 0; });
  CHECK(m.find("'holdout_days' must be a whole number of days >= 1") != std::string::npos);
  m = error([](Json& c) { c["ds"] = "2024-02-30"; });
  CHECK(m.find("feature_etl: ds:") != std::string::npos);
  m = error([](Json& c) { c["ds"] = "2024-03-03"; });  // nothing before 03-01 to train on
  CHECK(m.find("no training interactions in 'views' from 2024-02-22 to 2024-02-29") !=
        std::string::npos);
}

TEST_CASE("feature_etl: a full-history feature and the default windows") {
  TempDir dir;
  const World w = MakeWorld(11);
  WriteDays(dir / "home" / "facts.db", w, *ParseDay("2024-03-01"), *ParseDay("2024-03-25"));
  FakeContext ctx(dir / "home", FeatureEtlOperator::Info());
  // Defaults: train_days 28, holdout_days 7; no weight column (weights are 1), no features.
  Status s = RunEtl(ctx, {{"ds", "2024-03-24"}, {"interactions", {{"fact", "views"}}}});
  REQUIRE_MESSAGE(s.ok(), s.message());
  CHECK(ctx.outputs["cutoff"] == "2024-03-17");
  CHECK(ctx.outputs["train_from"] == "2024-02-18");
  std::int64_t train = 0, holdout = 0;
  for (const auto& v : w.views) {
    train += v.t < kC;
    holdout += v.t >= kC && v.t < Ms("2024-03-24");
  }
  CHECK(ctx.outputs["train_rows"] == train);
  CHECK(ctx.outputs["holdout_rows"] == holdout);
  auto rows = ParseCsv(Artifact(ctx, "interactions"));
  CHECK(rows[1][2] == "1");
  CHECK(Artifact(ctx, "user_features").rfind("user_id\n1\n2\n", 0) == 0);  // ids, numerically
}
