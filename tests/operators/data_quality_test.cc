#include "operators/data_quality.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "facts/fact_store.h"
#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::FakeContext;
using reel::testing::TempDir;
using reel::testing::WriteFile;

namespace {

std::int64_t Ms(const char* iso) { return ParseInstant(iso)->time_since_epoch().count(); }

// views/2024-03-01: 50 clean rows, 00:00 .. 08:10.
// views/2024-03-02: 100 rows, 00:00 .. 16:30, with 1 duplicate event_id, 2 null user_ids,
//                   2 watch_seconds out of [0, 86400], 3 unknown devices, 1 score "n/a".
// views/2024-03-03: 10 rows (after the day checked by ds 2024-03-03).
void WriteViews(const std::filesystem::path& db) {
  auto store = FactStore::Open(db);
  REQUIRE(store.ok());
  FactSchema schema;
  schema.columns = {{"event_id", ColumnType::kInt},         {"user_id", ColumnType::kInt},
                    {"event_time", ColumnType::kTimestamp}, {"watch_seconds", ColumnType::kInt},
                    {"device", ColumnType::kString},        {"score", ColumnType::kString}};
  schema.time_column = "event_time";
  const char* devices[] = {"tv", "web", "mobile"};
  auto write = [&](const char* ds, int n, bool dirty, std::int64_t first_id) {
    FactRows rows;
    for (int i = 0; i < n; ++i) {
      std::int64_t id = first_id + i, t = Ms(ds) + i * 600000;
      FactValue user = id, watch = std::int64_t{100} * i;
      std::string device = devices[i % 3], score = "1.5";
      if (dirty) {
        if (i == n - 1) id -= 1;
        if (i == 10 || i == 11) user = FactValue();
        if (i == 20) watch = std::int64_t{-5};
        if (i == 21) watch = std::int64_t{90000};
        if (i >= 30 && i < 33) device = "fridge";
        if (i == 40) score = "n/a";
      }
      rows.Append({id, user, t, watch, device, score}, t);
    }
    REQUIRE(
        (*store)->WritePartition({"views", FactKind::kEvent, ds, schema, false, "r"}, rows).ok());
  };
  write("2024-03-01", 50, false, 1);
  write("2024-03-02", 100, true, 101);
  write("2024-03-03", 10, false, 301);
}

Json AllChecks(const char* severity) {
  Json checks = {
      {{"check", "row_count"}, {"min", 10}, {"max", 100}},
      {{"check", "null_rate"}, {"column", "user_id"}},
      {{"check", "unique"}, {"column", "event_id"}},
      {{"check", "range"}, {"column", "watch_seconds"}, {"min", 0}, {"max", 86400}},
      {{"check", "range"}, {"column", "score"}, {"min", 0}, {"max", 5}},
      {{"check", "allowed_values"}, {"column", "device"}, {"values", {"tv", "web", "mobile"}}},
      {{"check", "freshness"}, {"max_age", "16h"}},
      {{"check", "volume_change"}, {"max_change", 0.5}},
  };
  if (severity) {
    for (auto& c : checks) c["severity"] = severity;
  }
  return checks;
}

Status Run(FakeContext& ctx, Json config) {
  ctx.config_ = std::move(config);
  DataQualityOperator op;
  return op.Execute(ctx);
}

bool Has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("data_quality: every check passes on clean data, with its metrics") {
  TempDir dir;
  WriteViews(dir / "home" / "facts.db");
  FakeContext ctx(dir / "home", DataQualityOperator::Info());
  Json checks = AllChecks(nullptr);
  checks.push_back({{"check", "unique"}, {"columns", {"user_id", "event_id"}}});
  Status s = Run(ctx, {{"ds", "2024-03-02"}, {"table", "views"}, {"checks", checks}});
  REQUIRE_MESSAGE(s.ok(), s.message());
  CHECK(ctx.outputs["passed"] == true);
  CHECK(ctx.outputs["rows"] == 50);
  CHECK(ctx.outputs["results"].size() == 9);
  CHECK(ctx.Metric("dq.rows") == 50);
  CHECK(ctx.Metric("dq.row_count") == 50);
  CHECK(ctx.Metric("dq.row_count.passed") == 1);
  CHECK(ctx.Metric("dq.null_rate(user_id)") == 0);
  CHECK(ctx.Metric("dq.unique(user_id,event_id).passed") == 1);
  CHECK(ctx.Metric("dq.range(score)") == 0);
  // The newest fact is 03-01 08:10, 15h50m before ds.
  CHECK(ctx.Metric("dq.freshness") == doctest::Approx(15.0 + 50.0 / 60));
  CHECK(ctx.Metric("dq.freshness.passed") == 1);
  CHECK(ctx.Metric("dq.volume_change.passed") == 1);  // nothing to compare with yet
}

TEST_CASE("data_quality: every check fails, and the report lists all failures") {
  TempDir dir;
  WriteViews(dir / "home" / "facts.db");
  FakeContext ctx(dir / "home", DataQualityOperator::Info());
  Json checks = AllChecks(nullptr);
  checks[0]["min"] = 1000;
  checks[1]["max"] = 0.01;
  checks[6]["max_age"] = "7h";
  Status s = Run(ctx, {{"ds", "2024-03-03"}, {"table", "views"}, {"checks", checks}});
  REQUIRE_FALSE(s.ok());
  CHECK(s.code() == Status::Code::kFailed);
  const std::string& m = s.message();
  INFO(m);
  CHECK(Has(m, "data quality failed on table views partition 2024-03-02: 8 of 8 checks failed"));
  for (const char* label :
       {"FAIL row_count: 100 rows", "FAIL null_rate(user_id): 2 of 100 rows null",
        "FAIL unique(event_id): 1 duplicate", "FAIL range(watch_seconds): 2 violating",
        "FAIL range(score): 1 violating", "FAIL allowed_values(device): 3 violating",
        "FAIL freshness: newest fact is 7h30m old", "FAIL volume_change: 100 rows vs 50"}) {
    CHECK_MESSAGE(Has(m, label), label);
  }
  CHECK(ctx.outputs["passed"] == false);
  CHECK(ctx.outputs["failures"].size() == 8);
  CHECK(ctx.Metric("dq.null_rate(user_id)") == doctest::Approx(0.02));
  CHECK(ctx.Metric("dq.null_rate(user_id).passed") == 0);
  CHECK(ctx.Metric("dq.unique(event_id)") == 1);
  CHECK(ctx.Metric("dq.range(watch_seconds)") == 2);
  CHECK(ctx.Metric("dq.allowed_values(device)") == 3);
  CHECK(ctx.Metric("dq.freshness") == doctest::Approx(7.5));
  CHECK(ctx.Metric("dq.volume_change") == doctest::Approx(1.0));
  CHECK(ctx.Metric("dq.volume_change.passed") == 0);

  // Tolerances turn them into passes.
  FakeContext tolerant(dir / "home", DataQualityOperator::Info());
  Json ok = {{{"check", "range"}, {"column", "watch_seconds"}, {"min", 0}, {"max_violations", 2}},
             {{"check", "null_rate"}, {"column", "user_id"}, {"max", 0.02}},
             {{"check", "volume_change"}, {"max_change", 1.0}},
             {{"check", "freshness"}, {"max_age", "8h"}}};
  s = Run(tolerant, {{"ds", "2024-03-03"}, {"table", "views"}, {"checks", ok}});
  CHECK_MESSAGE(s.ok(), s.message());
}

TEST_CASE("data_quality: severity warn logs a failure without failing the step") {
  TempDir dir;
  WriteViews(dir / "home" / "facts.db");
  FakeContext ctx(dir / "home", DataQualityOperator::Info());
  Json checks = AllChecks("warn");
  checks[0]["min"] = 1000;
  Status s = Run(ctx, {{"ds", "2024-03-03"}, {"table", "views"}, {"checks", checks}});
  REQUIRE_MESSAGE(s.ok(), s.message());
  CHECK(ctx.outputs["passed"] == true);
  CHECK(ctx.outputs["warnings"].size() == 7);  // all but freshness (16h)
  CHECK(ctx.Metric("dq.row_count.passed") == 0);
  bool logged = false;
  for (const auto& line : ctx.log_lines) logged = logged || Has(line, "WARN unique(event_id)");
  CHECK(logged);

  // One error among warnings: the step fails and the report shows both.
  FakeContext mixed(dir / "home", DataQualityOperator::Info());
  checks[2]["severity"] = "error";
  s = Run(mixed, {{"ds", "2024-03-03"}, {"table", "views"}, {"checks", checks}});
  REQUIRE_FALSE(s.ok());
  CHECK(Has(s.message(), "1 of 8 checks failed"));
  CHECK(Has(s.message(), "FAIL unique(event_id)"));
  CHECK(Has(s.message(), "WARN range(watch_seconds)"));
}

TEST_CASE("data_quality: scope as_of checks everything visible before ds, nothing after") {
  TempDir dir;
  WriteViews(dir / "home" / "facts.db");
  FakeContext ctx(dir / "home", DataQualityOperator::Info());
  Json checks = {{{"check", "row_count"}, {"min", 1}},
                 {{"check", "unique"}, {"column", "event_id"}}};
  Status s =
      Run(ctx, {{"ds", "2024-03-03"}, {"table", "views"}, {"scope", "as_of"}, {"checks", checks}});
  CHECK_FALSE(s.ok());                // the duplicate of 03-02
  CHECK(ctx.outputs["rows"] == 150);  // 03-03 is not visible at ds 03-03
  FakeContext earlier(dir / "home", DataQualityOperator::Info());
  s = Run(earlier,
          {{"ds", "2024-03-02"}, {"table", "views"}, {"scope", "as_of"}, {"checks", checks}});
  CHECK_MESSAGE(s.ok(), s.message());
  CHECK(earlier.outputs["rows"] == 50);
}

TEST_CASE("data_quality: checks a CSV dataset artifact or file") {
  TempDir dir;
  FakeContext ctx(dir / "home", DataQualityOperator::Info());
  WriteFile(dir / "train.csv",
            "user_id,item_id,weight,ts\n1,2,3.5,100\n1,2,4,101\n,3,abc,102\n2,9,1,103\n");
  auto ref = ctx.PutArtifact("interactions.csv", dir / "train.csv");
  REQUIRE(ref.ok());
  Json checks = {{{"check", "row_count"}, {"min", 4}},
                 {{"check", "null_rate"}, {"column", "user_id"}},
                 {{"check", "unique"}, {"columns", {"user_id", "item_id"}}},
                 {{"check", "range"}, {"column", "weight"}, {"min", 0}},
                 {{"check", "allowed_values"}, {"column", "item_id"}, {"values", {2, 3}}}};
  Status s = Run(ctx, {{"dataset", ref->uri}, {"checks", checks}});
  REQUIRE_FALSE(s.ok());
  INFO(s.message());
  CHECK(Has(s.message(), "4 of 5 checks failed"));
  CHECK(ctx.Metric("dq.row_count.passed") == 1);
  CHECK(ctx.Metric("dq.null_rate(user_id)") == doctest::Approx(0.25));
  CHECK(ctx.Metric("dq.unique(user_id,item_id)") == 1);
  CHECK(ctx.Metric("dq.range(weight)") == 1);  // "abc" is not a number
  CHECK(ctx.Metric("dq.allowed_values(item_id)") == 1);

  FakeContext by_path(dir / "home", DataQualityOperator::Info());
  s = Run(by_path,
          {{"dataset", (dir / "train.csv").string()}, {"checks", Json::array({checks[0]})}});
  CHECK_MESSAGE(s.ok(), s.message());

  FakeContext fresh(dir / "home", DataQualityOperator::Info());
  s = Run(fresh, {{"dataset", ref->uri},
                  {"checks", Json::array({{{"check", "freshness"}, {"max_age", "1d"}}})}});
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(Has(s.message(), "does not apply to a dataset"));

  WriteFile(dir / "bad.csv", "a,b\n1,2\n3\n");
  FakeContext bad(dir / "home", DataQualityOperator::Info());
  s = Run(bad, {{"dataset", (dir / "bad.csv").string()}, {"checks", Json::array({checks[0]})}});
  CHECK(Has(s.message(), "line 3: 1 fields, the header has 2"));
}

TEST_CASE("data_quality: configuration errors are clear") {
  TempDir dir;
  auto error = [&](Json config) {
    FakeContext ctx(dir / "home", DataQualityOperator::Info());
    Status s = Run(ctx, std::move(config));
    CHECK_FALSE(s.ok());
    return s.message();
  };
  Json one = Json::array({{{"check", "row_count"}, {"min", 1}}});
  CHECK(Has(error({{"ds", "2024-03-03"}, {"table", "views"}, {"checks", one}}), "no fact store"));
  WriteViews(dir / "home" / "facts.db");
  auto with = [&](Json check) {
    return error({{"ds", "2024-03-03"}, {"table", "views"}, {"checks", Json::array({check})}});
  };
  CHECK(Has(with({{"check", "uniqe"}, {"column", "event_id"}}), "did you mean 'unique'?"));
  std::string m = with({{"check", "null_rate"}, {"column", "usr_id"}});
  CHECK(Has(m, "no column 'usr_id' (did you mean 'user_id'?)"));
  CHECK(Has(m, "columns: event_id, user_id, event_time"));
  CHECK(Has(with({{"check", "range"}, {"column", "score"}}), "needs 'min', 'max' or both"));
  CHECK(Has(with({{"check", "row_count"}, {"mn", 3}}), "unknown key 'mn' (did you mean 'min'?)"));
  CHECK(Has(with({{"check", "row_count"}, {"min", "3"}}), "'min' must be a number"));
  CHECK(Has(with({{"check", "freshness"}, {"max_age", "soon"}}), "max_age"));
  CHECK(Has(with({{"check", "unique"}}), "needs 'column'"));
  CHECK(Has(with({{"check", "row_count"}, {"min", 1}, {"severity", "fatal"}}),
            "severity is 'error' or 'warn'"));
  CHECK(Has(error({{"ds", "2024-03-03"}, {"table", "clicks"}, {"checks", one}}),
            "known tables: views"));
  CHECK(Has(error({{"ds", "2024-03-01"}, {"table", "views"}, {"checks", one}}),
            "no partition before 2024-03-01"));
  CHECK(Has(error({{"table", "views"}, {"checks", one}}), "needs 'ds'"));
  CHECK(Has(error({{"table", "views"}, {"dataset", "x"}, {"ds", "2024-03-03"}, {"checks", one}}),
            "exactly one of 'table'"));
  CHECK(Has(error({{"ds", "2024-03-03"}, {"table", "views"}, {"scope", "all"}, {"checks", one}}),
            "scope is 'partition' or 'as_of'"));
}

TEST_CASE("data_quality: coverage lists the missing days of a partly loaded window") {
  TempDir dir;
  WriteViews(dir / "home" / "facts.db");  // views: 2024-03-01, 03-02, 03-03
  auto run = [&](Json check, FakeContext& ctx) {
    return Run(ctx, {{"ds", "2024-03-03"}, {"table", "views"}, {"checks", Json::array({check})}});
  };
  {
    // Every day of the window loaded.
    FakeContext ctx(dir / "home", DataQualityOperator::Info());
    Status s = run({{"check", "coverage"}, {"from", "2024-03-01"}, {"to", "2024-03-03"}}, ctx);
    REQUIRE_MESSAGE(s.ok(), s.message());
    CHECK(ctx.Metric("dq.coverage") == 0);
    CHECK(ctx.Metric("dq.coverage.passed") == 1);
  }
  {
    // 2024-02-20 .. 2024-03-03: 13 days (a leap year), 10 missing; the first five are listed.
    FakeContext ctx(dir / "home", DataQualityOperator::Info());
    Status s = run({{"check", "coverage"}, {"from", "2024-02-20"}, {"to", "2024-03-03"}}, ctx);
    REQUIRE_FALSE(s.ok());
    CHECK_MESSAGE(Has(s.message(),
                      "FAIL coverage: 10 of 13 days missing in views 2024-02-20..2024-03-03 "
                      "(max 0): 2024-02-20, 2024-02-21, 2024-02-22, 2024-02-23, 2024-02-24, "
                      "... (and 5 more)"),
                  s.message());
    CHECK(ctx.Metric("dq.coverage") == 10);
    CHECK(ctx.Metric("dq.coverage.passed") == 0);
  }
  {
    // A gap inside the window, within the tolerance; a named table.
    FakeContext ctx(dir / "home", DataQualityOperator::Info());
    Status s = run({{"check", "coverage"},
                    {"table", "views"},
                    {"from", "2024-03-02"},
                    {"to", "2024-03-05"},
                    {"max_missing_days", 2}},
                   ctx);
    REQUIRE_MESSAGE(s.ok(), s.message());
    CHECK(ctx.Metric("dq.coverage(views)") == 2);
    CHECK(ctx.Metric("dq.coverage(views).passed") == 1);
    CHECK(Has(ctx.outputs["results"][0]["detail"].get<std::string>(),
              "2 of 4 days missing in views 2024-03-02..2024-03-05 (max 2): 2024-03-04, "
              "2024-03-05"));
  }
  {
    // A table with no partitions at all: every day is missing.
    FakeContext ctx(dir / "home", DataQualityOperator::Info());
    Status s = run(
        {{"check", "coverage"}, {"from", "2024-03-04"}, {"to", "2024-03-04"}, {"severity", "warn"}},
        ctx);
    REQUIRE_MESSAGE(s.ok(), s.message());
    CHECK(ctx.outputs["warnings"][0] ==
          "coverage: 1 of 1 days missing in views 2024-03-04..2024-03-04 (max 0): 2024-03-04");
  }
}

TEST_CASE("data_quality: coverage configuration errors are clear") {
  TempDir dir;
  WriteViews(dir / "home" / "facts.db");
  auto with = [&](Json check) {
    FakeContext ctx(dir / "home", DataQualityOperator::Info());
    Status s =
        Run(ctx, {{"ds", "2024-03-03"}, {"table", "views"}, {"checks", Json::array({check})}});
    CHECK_FALSE(s.ok());
    return s.message();
  };
  CHECK(Has(with({{"check", "coverage"}, {"to", "2024-03-03"}}), "needs 'from', a date"));
  CHECK(Has(with({{"check", "coverage"}, {"from", "2024-03-01"}, {"to", "March"}}), "to:"));
  CHECK(Has(with({{"check", "coverage"}, {"from", "2024-03-03"}, {"to", "2024-03-01"}}),
            "'to' (2024-03-01) is before 'from' (2024-03-03)"));
  CHECK(Has(with({{"check", "coverage"},
                  {"from", "2024-03-01"},
                  {"to", "2024-03-03"},
                  {"max_missing_days", -1}}),
            "'max_missing_days' must be an integer >= 0"));
  CHECK(Has(with({{"check", "coverage"},
                  {"table", "clicks"},
                  {"from", "2024-03-01"},
                  {"to", "2024-03-03"}}),
            "known tables: views"));
  CHECK(Has(with({{"check", "coverage"}, {"form", "2024-03-01"}}),
            "unknown key 'form' (did you mean 'from'?)"));
}
