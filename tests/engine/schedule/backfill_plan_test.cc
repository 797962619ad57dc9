#include "engine/schedule/backfill_plan.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

using namespace reel;

namespace {

CronSchedule Cron(const std::string& expr, const std::string& tz = "UTC") {
  Result<CronSchedule> cron = CronSchedule::Parse(expr, tz);
  REQUIRE_MESSAGE(cron.ok(), cron.status().ToString());
  return *cron;
}

std::vector<LogicalDate> Plan(const std::optional<CronSchedule>& cron, const char* from,
                              const char* to, BackfillPlanOptions options = {}) {
  Result<std::vector<LogicalDate>> plan = PlanBackfill(cron, from, to, options);
  REQUIRE_MESSAGE(plan.ok(), plan.status().ToString());
  return *plan;
}

std::vector<std::string> Instants(const std::vector<LogicalDate>& dates) {
  std::vector<std::string> out;
  for (const LogicalDate& d : dates) out.push_back(FormatIsoUtc(d.instant));
  return out;
}

std::vector<std::string> Ds(const std::vector<LogicalDate>& dates) {
  std::vector<std::string> out;
  for (const LogicalDate& d : dates) out.push_back(d.ds);
  return out;
}

}  // namespace

TEST_CASE("backfill plan: no schedule means daily at 00:00 UTC") {
  std::vector<LogicalDate> dates = Plan(std::nullopt, "2026-02-27", "2026-03-02");
  CHECK(Ds(dates) ==
        std::vector<std::string>{"2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"});
  CHECK(Instants(dates).front() == "2026-02-27T00:00:00Z");
  CHECK(Plan(std::nullopt, "2026-03-01", "2026-03-01").size() == 1);
}

TEST_CASE("backfill plan: a daily 03:00 schedule covers one interval start per day") {
  std::vector<LogicalDate> dates = Plan(Cron("0 3 * * *"), "2026-11-28", "2026-11-30");
  CHECK(Instants(dates) == std::vector<std::string>{"2026-11-28T03:00:00Z", "2026-11-29T03:00:00Z",
                                                    "2026-11-30T03:00:00Z"});
  CHECK(Ds(dates) == std::vector<std::string>{"2026-11-28", "2026-11-29", "2026-11-30"});
}

TEST_CASE("backfill plan: hourly over one day gives 24, all with that day's ds") {
  std::vector<LogicalDate> dates = Plan(Cron("@hourly"), "2026-06-01", "2026-06-01");
  REQUIRE(dates.size() == 24);
  CHECK(FormatIsoUtc(dates.front().instant) == "2026-06-01T00:00:00Z");
  CHECK(FormatIsoUtc(dates.back().instant) == "2026-06-01T23:00:00Z");
  for (const LogicalDate& d : dates) CHECK(d.ds == "2026-06-01");
}

TEST_CASE("backfill plan: days are local to the schedule's zone") {
  // 2026-03-08 in New York is 23 hours long: 02:00 does not exist.
  std::vector<LogicalDate> spring =
      Plan(Cron("0 * * * *", "America/New_York"), "2026-03-08", "2026-03-08");
  CHECK(spring.size() == 23);
  CHECK(FormatIsoUtc(spring.front().instant) == "2026-03-08T05:00:00Z");  // 00:00 EST
  for (const LogicalDate& d : spring) CHECK(d.ds == "2026-03-08");
  // 2026-11-01 is 25 hours long, but the repeated 01:00 fires once.
  CHECK(Plan(Cron("0 * * * *", "America/New_York"), "2026-11-01", "2026-11-01").size() == 24);
  // Daily at 22:00 in Los Angeles: the logical date is 06:00Z the next UTC day, ds local.
  std::vector<LogicalDate> la =
      Plan(Cron("0 22 * * *", "America/Los_Angeles"), "2026-07-04", "2026-07-04");
  REQUIRE(la.size() == 1);
  CHECK(FormatIsoUtc(la[0].instant) == "2026-07-05T05:00:00Z");
  CHECK(la[0].ds == "2026-07-04");
}

namespace {

std::vector<std::string> Keys(const std::vector<LogicalDate>& dates) {
  std::vector<std::string> out;
  for (const LogicalDate& d : dates) out.push_back(d.key);
  return out;
}

}  // namespace

TEST_CASE("backfill plan: a daily schedule's runs are keyed by ds, an hourly one's by instant") {
  CHECK(Keys(Plan(Cron("0 3 * * *"), "2026-11-28", "2026-11-29")) ==
        std::vector<std::string>{"2026-11-28", "2026-11-29"});
  std::vector<LogicalDate> hourly = Plan(Cron("@hourly"), "2026-06-01", "2026-06-01");
  REQUIRE(hourly.size() == 24);
  CHECK(hourly[6].key == "2026-06-01T06:00:00Z");
  CHECK(FormatIsoUtc(hourly[6].end) == "2026-06-01T07:00:00Z");
  CHECK(FormatIsoUtc(hourly[23].end) == "2026-06-02T00:00:00Z");
}

TEST_CASE("backfill plan: instants bound the interval starts, both inclusive") {
  const CronSchedule hourly = Cron("0 * * * *");
  CHECK(Keys(Plan(hourly, "2026-03-01T06:00", "2026-03-01T08:00Z")) ==
        std::vector<std::string>{"2026-03-01T06:00:00Z", "2026-03-01T07:00:00Z",
                                 "2026-03-01T08:00:00Z"});
  // A bound between fire times admits the starts inside the range only.
  CHECK(Keys(Plan(hourly, "2026-03-01T06:30Z", "2026-03-01T08:59:59Z")) ==
        std::vector<std::string>{"2026-03-01T07:00:00Z", "2026-03-01T08:00:00Z"});
  // One instant: one interval. A date and an instant mix.
  CHECK(Plan(hourly, "2026-03-01T06:00Z", "2026-03-01T06:00Z").size() == 1);
  CHECK(Plan(hourly, "2026-03-01T20:00Z", "2026-03-02").size() == 28);
  // Offsets, and local time in the schedule's zone when there is none.
  CHECK(Keys(Plan(hourly, "2026-03-01T07:00+01:00", "2026-03-01T07:00+01:00")) ==
        std::vector<std::string>{"2026-03-01T06:00:00Z"});
  // (Kolkata is +05:30: 07:00 there is 01:30Z.)
  CHECK(Keys(Plan(Cron("0 * * * *", "Asia/Kolkata"), "2026-03-01T06:30", "2026-03-01T08:00")) ==
        std::vector<std::string>{"2026-03-01T01:30:00Z", "2026-03-01T02:30:00Z"});
}

TEST_CASE("backfill plan: every 15 minutes, and across daylight-saving changes") {
  std::vector<LogicalDate> quarter =
      Plan(Cron("*/15 * * * *"), "2026-03-01T06:00Z", "2026-03-01T07:00Z");
  CHECK(Keys(quarter) == std::vector<std::string>{"2026-03-01T06:00:00Z", "2026-03-01T06:15:00Z",
                                                  "2026-03-01T06:30:00Z", "2026-03-01T06:45:00Z",
                                                  "2026-03-01T07:00:00Z"});
  // New York springs forward at 02:00 on 2026-03-08: 01:45 EST's interval ends at 03:00 EDT,
  // which fires once for the whole gap.
  std::vector<LogicalDate> spring =
      Plan(Cron("*/15 * * * *", "America/New_York"), "2026-03-08T01:30", "2026-03-08T03:15");
  CHECK(Keys(spring) == std::vector<std::string>{"2026-03-08T06:30:00Z", "2026-03-08T06:45:00Z",
                                                 "2026-03-08T07:00:00Z", "2026-03-08T07:15:00Z"});
  CHECK(FormatIsoUtc(spring[1].end) == "2026-03-08T07:00:00Z");
  // Falling back on 2026-11-01, hourly: 01:00 EDT's interval lasts until 02:00 EST.
  std::vector<LogicalDate> fall =
      Plan(Cron("0 * * * *", "America/New_York"), "2026-11-01T00:00", "2026-11-01T02:00");
  CHECK(Keys(fall) == std::vector<std::string>{"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z",
                                               "2026-11-01T07:00:00Z"});
  CHECK(FormatIsoUtc(fall[1].end) == "2026-11-01T07:00:00Z");
  for (const LogicalDate& d : fall) CHECK(d.ds == "2026-11-01");
}

TEST_CASE("backfill plan: weekly and reversed") {
  // Mondays at 06:00 in November 2026: 2, 9, 16, 23, 30.
  std::vector<LogicalDate> weekly = Plan(Cron("0 6 * * MON"), "2026-11-01", "2026-11-30");
  CHECK(Ds(weekly) == std::vector<std::string>{"2026-11-02", "2026-11-09", "2026-11-16",
                                               "2026-11-23", "2026-11-30"});
  BackfillPlanOptions reversed;
  reversed.reverse = true;
  CHECK(Ds(Plan(Cron("0 6 * * MON"), "2026-11-01", "2026-11-30", reversed)) ==
        std::vector<std::string>{"2026-11-30", "2026-11-23", "2026-11-16", "2026-11-09",
                                 "2026-11-02"});
  // Two days without a Monday hold no interval start.
  CHECK(Plan(Cron("0 6 * * MON"), "2026-11-03", "2026-11-04").empty());
}

TEST_CASE("backfill plan: errors") {
  Result<std::vector<LogicalDate>> reversed =
      PlanBackfill(std::nullopt, "2026-11-30", "2026-11-01");
  REQUIRE_FALSE(reversed.ok());
  CHECK(reversed.status().code() == Status::Code::kInvalidArgument);
  CHECK(reversed.status().message() ==
        "backfill range is reversed: --from 2026-11-30 is after --to 2026-11-01; give the "
        "earlier date first (use --reverse to run newest first)");

  Result<std::vector<LogicalDate>> reversed_instants =
      PlanBackfill(Cron("@hourly"), "2026-03-01T08:00", "2026-03-01T06:00");
  REQUIRE_FALSE(reversed_instants.ok());
  CHECK(reversed_instants.status().message().find("backfill range is reversed") == 0);
  Result<std::vector<LogicalDate>> bad_instant =
      PlanBackfill(Cron("@hourly"), "2026-03-01T6:00", "2026-03-01T08:00");
  REQUIRE_FALSE(bad_instant.ok());
  CHECK(bad_instant.status().message().find("'2026-03-01T6:00' is not an ISO-8601 instant") == 0);

  Result<std::vector<LogicalDate>> bad = PlanBackfill(std::nullopt, "2026-02-30", "2026-03-01");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "'2026-02-30' is not a valid date (YYYY-MM-DD)");

  BackfillPlanOptions small;
  small.max_dates = 100;
  Result<std::vector<LogicalDate>> huge =
      PlanBackfill(Cron("* * * * *"), "2026-01-01", "2026-01-02", small);
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.status().message() ==
        "backfill 2026-01-01..2026-01-02 of cron '* * * * *' holds more than 100 intervals; "
        "narrow the date range");
}

TEST_CASE("ParseDate accepts only real YYYY-MM-DD dates") {
  Result<date::year_month_day> leap = ParseDate("2028-02-29");
  REQUIRE(leap.ok());
  CHECK(FormatDate(*leap) == "2028-02-29");
  for (const char* bad : {"2026-02-29", "2026-13-01", "2026-1-01", "26-01-01", "2026/01/01",
                          "2026-01-01T00:00:00Z", "", "abcd-ef-gh"}) {
    CAPTURE(bad);
    Result<date::year_month_day> d = ParseDate(bad);
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().message() == fmt::format("'{}' is not a valid date (YYYY-MM-DD)", bad));
  }
}
