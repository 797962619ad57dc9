#include "operators/fact_snapshot.h"

#include <random>
#include <string>

#include <doctest/doctest.h>

#include "facts/fact_store.h"
#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::FakeContext;
using reel::testing::TempDir;
using reel::testing::WriteFile;

namespace {

const char* kHeader = "event_id,user_id,item_id,event_time,watch_seconds,device\n";

// `n` events a day over `days` days from 2024-03-01, shuffled so that days interleave.
std::string EventsCsv(int days, int per_day, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> lines;
  int id = 0;
  for (int d = 0; d < days; ++d) {
    for (int i = 0; i < per_day; ++i) {
      int secs = static_cast<int>(rng() % 86400);
      lines.push_back(fmt::format("{},{},{},2024-03-{:02d}T{:02d}:{:02d}:{:02d}Z,{},{}\n", ++id,
                                  rng() % 100, rng() % 40, d + 1, secs / 3600, secs / 60 % 60,
                                  secs % 60, rng() % 4000, (rng() % 2) ? "tv" : "\"web, beta\""));
    }
  }
  std::shuffle(lines.begin(), lines.end(), rng);
  std::string out = kHeader;
  for (const auto& l : lines) out += l;
  return out;
}

Json EventConfig(const std::filesystem::path& source) {
  return Json{
      {"source", source.string()},
      {"table", "viewing_history"},
      {"kind", "event"},
      {"timestamp", {{"column", "event_time"}, {"format", "iso8601"}}},
      {"types",
       {{"event_id", "int"}, {"user_id", "int"}, {"item_id", "int"}, {"watch_seconds", "int"}}}};
}

std::vector<std::tuple<std::string, std::int64_t, std::string>> PartitionsOf(
    const std::filesystem::path& db, const std::string& table) {
  auto store = FactStore::Open(db, false);
  REQUIRE(store.ok());
  auto parts = (*store)->Partitions(table);
  REQUIRE(parts.ok());
  std::vector<std::tuple<std::string, std::int64_t, std::string>> out;
  for (const auto& p : *parts) out.emplace_back(p.ds, p.rows, p.content_hash);
  return out;
}

bool LogMentions(const FakeContext& ctx, const std::string& needle) {
  for (const auto& l : ctx.log_lines) {
    if (l.find(needle) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("fact_snapshot: one day of events from a CSV holding several days") {
  TempDir dir;
  WriteFile(dir / "views.csv", EventsCsv(3, 50, 1));
  FakeContext ctx(dir / "home", FactSnapshotOperator::Info());
  ctx.config_ = EventConfig(dir / "views.csv");
  ctx.config_["ds"] = "2024-03-02";
  FactSnapshotOperator op;
  Status s = op.Execute(ctx);
  REQUIRE_MESSAGE(s.ok(), s.message());
  CHECK(ctx.outputs["rows_read"] == 150);
  CHECK(ctx.outputs["rows_written"] == 50);
  CHECK(ctx.outputs["rows_out_of_range"] == 100);
  CHECK(ctx.outputs["partitions_written"] == 1);
  CHECK(ctx.Metric("rows_written") == 50);
  CHECK(ctx.Metric("bad_rows") == 0);
  auto store = FactStore::Open(dir / "home" / "facts.db", false);
  REQUIRE(store.ok());
  auto info = (*store)->Table("viewing_history");
  REQUIRE(info.ok());
  CHECK(info->schema.Describe() ==
        "event_id int, user_id int, item_id int, event_time timestamp, watch_seconds int, "
        "device string");
  std::int64_t web = 0;
  REQUIRE((*store)
              ->ScanPartition("viewing_history", "2024-03-02",
                              [&](const FactRow& r) {
                                CHECK(r.day() == *ParseDay("2024-03-02"));
                                web += r.Text(5) == "web, beta";
                                return true;
                              })
              .ok());
  CHECK(web > 0);
  CHECK(*(*store)->CountAsOf("viewing_history", *ParseInstant("2024-03-03")) == 50);

  // Running the same step again changes nothing.
  FakeContext again(dir / "home", FactSnapshotOperator::Info());
  again.config_ = ctx.config_;
  REQUIRE(op.Execute(again).ok());
  CHECK(again.outputs["partitions_unchanged"] == 1);
  CHECK(again.outputs["rows_written"] == 0);
}

TEST_CASE("fact_snapshot: a range load equals day-by-day loads, spilled or not") {
  TempDir dir;
  WriteFile(dir / "views.csv", EventsCsv(5, 9000, 2));  // ~45k rows, > 1 MiB staged
  FactSnapshotOperator op;
  FakeContext range(dir / "range", FactSnapshotOperator::Info());
  range.config_ = EventConfig(dir / "views.csv");
  range.config_["from"] = "2024-03-01";
  range.config_["to"] = "2024-03-05";
  REQUIRE(op.Execute(range).ok());
  CHECK(range.outputs["partitions_written"] == 5);

  FakeContext spill(dir / "spill", FactSnapshotOperator::Info());
  spill.config_ = range.config_;
  spill.config_["staging_memory_mb"] = 1;
  REQUIRE(op.Execute(spill).ok());

  for (int d = 1; d <= 5; ++d) {
    FakeContext day(dir / "daily", FactSnapshotOperator::Info());
    day.config_ = EventConfig(dir / "views.csv");
    day.config_["ds"] = fmt::format("2024-03-{:02d}", d);
    REQUIRE(op.Execute(day).ok());
  }
  auto expected = PartitionsOf(dir / "daily" / "facts.db", "viewing_history");
  REQUIRE(expected.size() == 5);
  CHECK(std::get<1>(expected[0]) == 9000);
  CHECK(PartitionsOf(dir / "range" / "facts.db", "viewing_history") == expected);
  CHECK(PartitionsOf(dir / "spill" / "facts.db", "viewing_history") == expected);
  // The staging folder is gone once the step is done.
  for (const auto& e : std::filesystem::directory_iterator(spill.work_dir())) {
    CHECK(e.path().filename().string().find("staging") == std::string::npos);
  }
}

TEST_CASE("fact_snapshot: bad rows are counted with line numbers and fail past the threshold") {
  TempDir dir;
  std::string csv = std::string(kHeader) +
                    "1,1,1,2024-03-01T10:00:00Z,100,tv\n"       // line 2
                    "2,1,1,2024-03-01T10:00:00Z,100\n"          // line 3: 5 fields
                    "3,1,1,2024-03-01T10:00:00Z,100,tv\n"       // line 4
                    "4,1,1,yesterday,100,tv\n"                  // line 5: bad timestamp
                    "5,1,x1,2024-03-01T11:00:00Z,100,tv\n"      // line 6: bad int
                    "6,1,1,,100,tv\n"                           // line 7: no timestamp
                    "7,1,1,2024-03-01T12:00:00Z,100,\"tv\"x\n"  // line 8: bad quoting
                    "8,1,1,2024-03-01T13:00:00Z,100,web\n";     // line 9
  WriteFile(dir / "views.csv", csv);
  FactSnapshotOperator op;
  FakeContext strict(dir / "home", FactSnapshotOperator::Info());
  strict.config_ = EventConfig(dir / "views.csv");
  strict.config_["ds"] = "2024-03-01";
  Status s = op.Execute(strict);
  REQUIRE(!s.ok());
  CHECK(s.code() == Status::Code::kFailed);
  CHECK(s.message().find("5 bad rows") != std::string::npos);
  CHECK(s.message().find("line 3") != std::string::npos);
  CHECK(strict.Metric("bad_rows") == 5);
  for (const char* line : {"line 3:", "line 5:", "line 6:", "line 7:", "line 8:"}) {
    CHECK_MESSAGE(LogMentions(strict, line), line);
  }
  CHECK(LogMentions(strict, "'yesterday' is not a timestamp"));
  CHECK(LogMentions(strict, "'x1' is not an integer"));
  CHECK(!std::filesystem::exists(dir / "home" / "facts.db"));  // nothing written

  FakeContext lenient(dir / "home", FactSnapshotOperator::Info());
  lenient.config_ = strict.config_;
  lenient.config_["max_bad_rows"] = 5;
  REQUIRE(op.Execute(lenient).ok());
  CHECK(lenient.outputs["rows_written"] == 3);
  CHECK(lenient.outputs["bad_rows"] == 5);

  FakeContext four(dir / "home4", FactSnapshotOperator::Info());
  four.config_ = strict.config_;
  four.config_["max_bad_rows"] = 4;
  CHECK(!op.Execute(four).ok());
}

TEST_CASE("fact_snapshot: JSON Lines with renamed columns and epoch milliseconds") {
  TempDir dir;
  WriteFile(dir / "thumbs.jsonl",
            "{\"uid\": 1, \"item\": 7, \"ts\": 1709287200000, \"thumb\": 1}\n"
            "{\"uid\": 2, \"item\": 8, \"ts\": 1709290800000, \"thumb\": -1}\n"
            "\n"
            "{\"uid\": 3, \"item\": 9, \"ts\": 1709377200000}\n"
            "{\"uid\": 4, \"item\": 9, \"ts\": 1709290800000, \"extra\": true}\n");
  FakeContext ctx(dir / "home", FactSnapshotOperator::Info());
  ctx.config_ = Json{{"source", (dir / "thumbs.jsonl").string()},
                     {"table", "thumbs"},
                     {"columns", {{"uid", "user_id"}, {"item", "item_id"}, {"ts", "event_time"}}},
                     {"types", {{"user_id", "int"}, {"item_id", "int"}, {"thumb", "int"}}},
                     {"timestamp", {{"column", "event_time"}, {"format", "epoch_ms"}}},
                     {"from", "2024-03-01"},
                     {"to", "2024-03-02"},
                     {"max_bad_rows", 1}};
  FactSnapshotOperator op;
  Status s = op.Execute(ctx);
  REQUIRE_MESSAGE(s.ok(), s.message());
  CHECK(ctx.outputs["bad_rows"] == 1);
  CHECK(LogMentions(ctx, "line 5: key 'extra' is not a column"));
  auto parts = PartitionsOf(dir / "home" / "facts.db", "thumbs");
  REQUIRE(parts.size() == 2);
  CHECK(std::get<1>(parts[0]) == 2);
  CHECK(std::get<1>(parts[1]) == 1);
  auto store = FactStore::Open(dir / "home" / "facts.db", false);
  std::vector<bool> null_thumb;
  REQUIRE((*store)
              ->AsOf("thumbs", *ParseInstant("2024-03-03"),
                     [&](const FactRow& r) {
                       null_thumb.push_back(r.IsNull(3));
                       return true;
                     })
              .ok());
  CHECK(null_thumb == std::vector<bool>{false, false, true});
}

TEST_CASE("fact_snapshot: changed content conflicts unless overwrite is set") {
  TempDir dir;
  WriteFile(dir / "v.csv", std::string(kHeader) + "1,1,1,2024-03-01T10:00:00Z,100,tv\n");
  FactSnapshotOperator op;
  FakeContext first(dir / "home", FactSnapshotOperator::Info());
  first.config_ = EventConfig(dir / "v.csv");
  first.config_["ds"] = "2024-03-01";
  REQUIRE(op.Execute(first).ok());

  WriteFile(dir / "v.csv", std::string(kHeader) + "1,1,1,2024-03-01T10:00:00Z,200,tv\n");
  FakeContext second(dir / "home", FactSnapshotOperator::Info());
  second.config_ = first.config_;
  Status s = op.Execute(second);
  REQUIRE(!s.ok());
  CHECK(s.code() == Status::Code::kConflict);
  CHECK(s.message().find("overwrite: true") != std::string::npos);

  FakeContext third(dir / "home", FactSnapshotOperator::Info());
  third.config_ = first.config_;
  third.config_["overwrite"] = true;
  REQUIRE(op.Execute(third).ok());
  CHECK(third.outputs["partitions_overwritten"] == 1);
  REQUIRE(third.events.size() == 1);
  CHECK(third.events[0].first == "facts.partition_overwritten");
  auto store = FactStore::Open(dir / "home" / "facts.db", false);
  auto events = (*store)->Events("viewing_history");
  REQUIRE(events.ok());
  REQUIRE(events->size() == 2);
  CHECK((*events)[1].action == "overwritten");
  CHECK((*events)[1].run_id == "run-test");
}

TEST_CASE("fact_snapshot: a state table takes the whole file as the state of `ds`") {
  TempDir dir;
  WriteFile(dir / "users.csv",
            "user_id,signup_date,plan\n1,2023-01-01,basic\n2,2024-03-09,premium\n");
  FakeContext ctx(dir / "home", FactSnapshotOperator::Info());
  ctx.config_ = Json{{"source", (dir / "users.csv").string()},
                     {"table", "users"},
                     {"kind", "state"},
                     {"ds", "2024-03-10"},
                     {"types", {{"user_id", "int"}}}};
  FactSnapshotOperator op;
  REQUIRE(op.Execute(ctx).ok());
  auto store = FactStore::Open(dir / "home" / "facts.db", false);
  CHECK(*(*store)->CountAsOf("users", *ParseInstant("2024-03-10")) == 0);
  CHECK(*(*store)->CountAsOf("users", *ParseInstant("2024-03-11")) == 2);
}

TEST_CASE("fact_snapshot: configuration errors say what to fix") {
  TempDir dir;
  WriteFile(dir / "v.csv", std::string(kHeader) + "1,1,1,2024-03-01T10:00:00Z,100,tv\n");
  FactSnapshotOperator op;
  auto run = [&](Json config) {
    FakeContext ctx(dir / "home", FactSnapshotOperator::Info());
    ctx.config_ = std::move(config);
    return op.Execute(ctx);
  };
  Json base = EventConfig(dir / "v.csv");
  base["ds"] = "2024-03-01";

  Json no_ts = base;
  no_ts.erase("timestamp");
  Status s = run(no_ts);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("timestamp") != std::string::npos);

  Json rename = base;
  rename["columns"] = {{"evnt_time", "t"}};
  s = run(rename);
  CHECK(s.message().find("'evnt_time' is not a column") != std::string::npos);
  CHECK(s.message().find("event_time") != std::string::npos);

  Json bad_day = base;
  bad_day["ds"] = "2024-02-30";
  s = run(bad_day);
  CHECK(s.message().find("YYYY-MM-DD") != std::string::npos);

  Json both = base;
  both["from"] = "2024-03-01";
  CHECK(run(both).code() == Status::Code::kInvalidArgument);

  Json missing = base;
  missing["source"] = (dir / "nope.csv").string();
  s = run(missing);
  CHECK(s.message().find("nope.csv") != std::string::npos);

  Json ext = base;
  WriteFile(dir / "v.dat", "x\n");
  ext["source"] = (dir / "v.dat").string();
  CHECK(run(ext).message().find("format: csv") != std::string::npos);
}
