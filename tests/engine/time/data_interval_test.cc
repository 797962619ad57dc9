// Logical dates and data intervals: what runs.logical_date records, and how a date or an
// instant resolves to an interval, daily, hourly, every 15 minutes and across DST.
#include "engine/time/data_interval.h"

#include <doctest/doctest.h>

using namespace reel;
using std::chrono::sys_seconds;

namespace {

CronSchedule Cron(const std::string& expr, const std::string& tz = "UTC") {
  Result<CronSchedule> cron = CronSchedule::Parse(expr, tz);
  REQUIRE_MESSAGE(cron.ok(), cron.status().ToString());
  return *cron;
}

sys_seconds At(const char* iso) { return *ParseIsoInstant(iso); }

DataInterval Resolve(const CronSchedule& cron, const char* text) {
  Result<DataInterval> interval = ResolveLogicalDate(cron, text);
  REQUIRE_MESSAGE(interval.ok(), interval.status().ToString());
  return *interval;
}

}  // namespace

TEST_CASE("a schedule fires several times a day when it matches more than one time of day") {
  CHECK_FALSE(FiresSeveralTimesADay(Cron("0 3 * * *")));
  CHECK_FALSE(FiresSeveralTimesADay(Cron("@weekly")));
  CHECK_FALSE(FiresSeveralTimesADay(Cron("30 1 1 * *", "America/New_York")));
  CHECK_FALSE(FiresSeveralTimesADay(DefaultDailySchedule()));
  CHECK(FiresSeveralTimesADay(Cron("@hourly")));
  CHECK(FiresSeveralTimesADay(Cron("*/15 * * * *")));
  CHECK(FiresSeveralTimesADay(Cron("0 0,12 * * *")));
  CHECK(FiresSeveralTimesADay(Cron("0,30 9 * * MON")));
}

TEST_CASE("a daily schedule records the ds; its interval starts at its time of day") {
  DataInterval day = Resolve(Cron("0 3 * * *"), "2026-11-28");
  CHECK(day.logical_date == "2026-11-28");
  CHECK(day.ds == "2026-11-28");
  CHECK(day.start == At("2026-11-28T03:00:00Z"));
  CHECK(day.end == At("2026-11-29T03:00:00Z"));
  CHECK(day.start_text == "2026-11-28T03:00:00Z");
  CHECK(day.end_text == "2026-11-29T03:00:00Z");
  // Without a schedule: midnight to midnight UTC, as before.
  DataInterval plain = Resolve(DefaultDailySchedule(), "2026-11-28");
  CHECK(plain.logical_date == "2026-11-28");
  CHECK(plain.start_text == "2026-11-28T00:00:00Z");
  CHECK(plain.end_text == "2026-11-29T00:00:00Z");
  // The fire time itself names the same run.
  CHECK(Resolve(Cron("0 3 * * *"), "2026-11-28T03:00:00Z") == day);
}

TEST_CASE("instants are written in the schedule's zone, so their date part is the ds") {
  // Daily at 22:00 in Los Angeles: the interval starts at 05:00Z the next UTC day.
  DataInterval la = Resolve(Cron("0 22 * * *", "America/Los_Angeles"), "2026-07-04");
  CHECK(la.logical_date == "2026-07-04");
  CHECK(la.start == At("2026-07-05T05:00:00Z"));
  CHECK(la.start_text == "2026-07-04T22:00:00-07:00");
  CHECK(la.end_text == "2026-07-05T22:00:00-07:00");
  CHECK(la.start_text.substr(0, 10) == la.ds);
  CHECK(FormatIsoInZone(*TimeZone::Locate("Asia/Kolkata"), At("2026-01-01T00:00:00Z")) ==
        "2026-01-01T05:30:00+05:30");
  CHECK(FormatIsoInZone(*TimeZone::Locate("Europe/London"), At("2026-01-01T00:00:00Z")) ==
        "2026-01-01T00:00:00+00:00");
}

TEST_CASE("an hourly schedule records the interval start as a UTC instant") {
  const CronSchedule hourly = Cron("@hourly");
  DataInterval six = Resolve(hourly, "2026-03-01T06:00:00Z");
  CHECK(six.logical_date == "2026-03-01T06:00:00Z");
  CHECK(six.ds == "2026-03-01");
  CHECK(six.start_text == "2026-03-01T06:00:00Z");
  CHECK(six.end_text == "2026-03-01T07:00:00Z");
  // The same instant written without seconds, with an offset, or as local time.
  CHECK(Resolve(hourly, "2026-03-01T06:00") == six);
  CHECK(Resolve(hourly, "2026-03-01T07:00+01:00") == six);
  CHECK(Resolve(hourly, "2026-03-01 06:00:00") == six);
  // A date names the first interval of that day.
  CHECK(Resolve(hourly, "2026-03-01").logical_date == "2026-03-01T00:00:00Z");
  // Every logical date it records resolves back to its own interval.
  Result<DataInterval> again = ResolveLogicalDate(hourly, six.logical_date);
  REQUIRE(again.ok());
  CHECK(*again == six);
}

TEST_CASE("an instant without an offset is wall-clock time in the schedule's zone") {
  const CronSchedule berlin = Cron("0 * * * *", "Europe/Berlin");
  DataInterval six = Resolve(berlin, "2026-03-01T06:00");
  CHECK(six.start == At("2026-03-01T05:00:00Z"));
  CHECK(six.logical_date == "2026-03-01T05:00:00Z");
  CHECK(six.start_text == "2026-03-01T06:00:00+01:00");
  CHECK(Resolve(berlin, "2026-03-01T05:00:00Z") == six);
}

TEST_CASE("every 15 minutes: intervals of a quarter hour, each its own logical date") {
  const CronSchedule quarter = Cron("*/15 * * * *");
  DataInterval q = Resolve(quarter, "2026-03-01T06:45Z");
  CHECK(q.logical_date == "2026-03-01T06:45:00Z");
  CHECK(q.end == At("2026-03-01T07:00:00Z"));
  Result<DataInterval> off = ResolveLogicalDate(quarter, "2026-03-01T06:50Z");
  REQUIRE_FALSE(off.ok());
  CHECK(off.status().code() == Status::Code::kInvalidArgument);
  CHECK(off.status().message() ==
        "'2026-03-01T06:50Z' is not the start of an interval of cron '*/15 * * * *' in UTC "
        "(the nearest are 2026-03-01T06:45:00Z or 2026-03-01T07:00:00Z); give an interval "
        "start, or a date YYYY-MM-DD for the first interval of that day");
}

TEST_CASE("daylight saving: intervals stretch over a repeated hour and shrink over a gap") {
  // New York falls back on 2026-11-01: 01:00 EDT (05:00Z) fires, the repeated 01:00 EST does
  // not, so that interval lasts two hours.
  const CronSchedule ny_hourly = Cron("0 * * * *", "America/New_York");
  DataInterval fall = Resolve(ny_hourly, "2026-11-01T01:00");
  CHECK(fall.start == At("2026-11-01T05:00:00Z"));
  CHECK(fall.end == At("2026-11-01T07:00:00Z"));
  CHECK(fall.start_text == "2026-11-01T01:00:00-04:00");
  CHECK(fall.end_text == "2026-11-01T02:00:00-05:00");
  CHECK(fall.ds == "2026-11-01");
  // Spring forward on 2026-03-08: 02:00-02:59 does not exist; every 15 minutes, 01:45 EST's
  // interval ends at 03:00 EDT, which fires once for the whole gap.
  const CronSchedule ny_quarter = Cron("*/15 * * * *", "America/New_York");
  DataInterval spring = Resolve(ny_quarter, "2026-03-08T01:45");
  CHECK(spring.start == At("2026-03-08T06:45:00Z"));
  CHECK(spring.end == At("2026-03-08T07:00:00Z"));
  CHECK(spring.end_text == "2026-03-08T03:00:00-04:00");
  DataInterval after = Resolve(ny_quarter, spring.end_text.c_str());
  CHECK(after.start == spring.end);
  CHECK(after.end == At("2026-03-08T07:15:00Z"));
  // A date in the zone names its first local interval.
  CHECK(Resolve(ny_hourly, "2026-03-08").start == At("2026-03-08T05:00:00Z"));
}

TEST_CASE("a day the schedule does not fire on is an interval of its own") {
  const CronSchedule mondays = Cron("0 6 * * MON");
  DataInterval tuesday = Resolve(mondays, "2026-11-03");
  CHECK(tuesday.logical_date == "2026-11-03");
  CHECK(tuesday.start == At("2026-11-03T00:00:00Z"));
  CHECK(tuesday.end == At("2026-11-04T00:00:00Z"));
  CHECK(Resolve(mondays, "2026-11-02").start == At("2026-11-02T06:00:00Z"));
  // Several times a day but not every day: a day without fires still records its date.
  DataInterval sunday = Resolve(Cron("0 * * * 1-5"), "2026-11-01");
  CHECK(sunday.logical_date == "2026-11-01");
  CHECK(Resolve(Cron("0 * * * 1-5"), "2026-11-01") == sunday);
}

TEST_CASE("bad logical dates say what is expected") {
  for (const char* bad : {"2026-02-30", "tomorrow", "2026-03-01T25:00", "2026-03-01T06"}) {
    CAPTURE(bad);
    Result<DataInterval> r = ResolveLogicalDate(Cron("@hourly"), bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(r.status().message().find("YYYY-MM-DD") != std::string::npos);
  }
}
