#include "engine/time/time_zone.h"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "engine/time/cron.h"
#include "engine/time/posix_tz.h"

using namespace reel;
using std::chrono::sys_seconds;

namespace {

sys_seconds At(const std::string& iso) { return *ParseIsoInstant(iso); }

std::vector<std::string> Next(const std::string& expr, const std::string& tz,
                              const std::string& from, int n) {
  Result<CronSchedule> cron = CronSchedule::Parse(expr, tz);
  REQUIRE_MESSAGE(cron.ok(), cron.status().ToString());
  std::vector<std::string> out;
  sys_seconds t = At(from);
  for (int i = 0; i < n; ++i) {
    t = *cron->NextAfter(t);
    out.push_back(FormatIsoUtc(t));
  }
  return out;
}

}  // namespace

TEST_CASE("PosixTzRule parses TZif footers") {
  for (const char* good : {"EST5EDT,M3.2.0,M11.1.0", "<+0330>-3:30", "UTC0",
                           "AEST-10AEDT,M10.1.0,M4.1.0/3", "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
                           "IST-1GMT0,M10.5.0,M3.5.0/1", "EST5EDT,0/0,J365/25", "EST5EDT"}) {
    CAPTURE(good);
    CHECK(PosixTzRule::Parse(good).has_value());
  }
  for (const char* bad : {"", "E5", "EST", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.2.0",
                          "EST5EDT,M3.2.0,M11.1.0junk", "<+03-3", "EST5EDT,J0,J365"}) {
    CAPTURE(bad);
    CHECK_FALSE(PosixTzRule::Parse(bad).has_value());
  }
  CHECK_FALSE(PosixTzRule::Parse("<+0330>-3:30")->has_dst());
}

TEST_CASE("PosixTzRule computes northern and southern daylight periods") {
  const PosixTzRule ny = *PosixTzRule::Parse("EST5EDT,M3.2.0,M11.1.0");
  const ZonePeriod summer = ny.PeriodAt(At("2040-07-01T00:00:00Z"));
  CHECK(summer.offset == std::chrono::hours{-4});
  CHECK(FormatIsoUtc(summer.begin) == "2040-03-11T07:00:00Z");
  CHECK(FormatIsoUtc(summer.end) == "2040-11-04T06:00:00Z");
  CHECK(ny.PeriodAt(At("2040-12-01T00:00:00Z")).offset == std::chrono::hours{-5});

  const PosixTzRule sydney = *PosixTzRule::Parse("AEST-10AEDT,M10.1.0,M4.1.0/3");
  const ZonePeriod sydney_summer = sydney.PeriodAt(At("2041-01-15T00:00:00Z"));
  CHECK(sydney_summer.offset == std::chrono::hours{11});
  CHECK(FormatIsoUtc(sydney_summer.begin) == "2040-10-06T16:00:00Z");  // 02:00 AEST
  CHECK(FormatIsoUtc(sydney_summer.end) == "2041-04-06T16:00:00Z");    // 03:00 AEDT
}

// Reference: the explicit transitions of the tz database for 2030-2036 were generated from
// the same rules as each zone's footer, so the two must agree for every zone that has one.
TEST_CASE("PosixTzRule agrees with the tz database for every zone before 2037") {
  const sys_seconds from = At("2030-01-01T00:00:00Z");
  const sys_seconds to = At("2037-01-01T00:00:00Z");
  int zones_checked = 0;
  for (const date::time_zone& zone : date::get_tzdb().zones) {
    std::optional<PosixTzRule> rule =
        PosixTzRule::FromTzifFile("/usr/share/zoneinfo/" + zone.name());
    if (!rule || !rule->has_dst()) continue;
    // Zones whose listed transitions stop early or run on past 2037 (rules no footer
    // expresses) are not generated from the footer over this span.
    const date::sys_info last = zone.get_info(At("9000-01-01T00:00:00Z"));
    if (last.begin < to || last.begin >= At("2038-01-01T00:00:00Z")) continue;
    ++zones_checked;
    for (sys_seconds t = from; t < to;) {
      const date::sys_info info = zone.get_info(t);
      const ZonePeriod period = rule->PeriodAt(t);
      CAPTURE(zone.name());
      CAPTURE(FormatIsoUtc(t));
      CHECK(period.offset == info.offset);
      if (info.end < to) CHECK(FormatIsoUtc(period.end) == FormatIsoUtc(info.end));
      t = info.end;
    }
  }
  CHECK(zones_checked > 50);
}

TEST_CASE("time zones keep their daylight rules after 2037") {
  // 2040: New York changes on 2040-03-11 and 2040-11-04.
  CHECK(Next("0 9 * * *", "America/New_York", "2040-03-10T00:00:00Z", 2) ==
        std::vector<std::string>{"2040-03-10T14:00:00Z", "2040-03-11T13:00:00Z"});
  CHECK(Next("30 2 * * *", "America/New_York", "2040-03-10T00:00:00Z", 3) ==
        std::vector<std::string>{"2040-03-10T07:30:00Z", "2040-03-11T07:00:00Z",
                                 "2040-03-12T06:30:00Z"});
  CHECK(Next("0 * * * *", "America/New_York", "2040-11-04T04:00:00Z", 3) ==
        std::vector<std::string>{"2040-11-04T05:00:00Z", "2040-11-04T07:00:00Z",
                                 "2040-11-04T08:00:00Z"});
  CHECK(Next("0 9 1 7 *", "Europe/London", "2050-01-01T00:00:00Z", 1) ==
        std::vector<std::string>{"2050-07-01T08:00:00Z"});
  CHECK(Next("0 9 1 1,7 *", "Australia/Sydney", "2050-01-02T00:00:00Z", 2) ==
        std::vector<std::string>{"2050-06-30T23:00:00Z", "2050-12-31T22:00:00Z"});
  // Zones without daylight time keep their fixed offset.
  CHECK(Next("0 9 * * *", "Asia/Kolkata", "2050-01-01T00:00:00Z", 1) ==
        std::vector<std::string>{"2050-01-01T03:30:00Z"});
}

TEST_CASE("TimeZone local dates and day starts") {
  const TimeZone ny = *TimeZone::Locate("America/New_York");
  CHECK(date::format("%F", ny.LocalDate(At("2026-07-05T03:59:59Z"))) == "2026-07-04");
  CHECK(FormatIsoUtc(ny.StartOfDay(date::year{2026} / 3 / 8)) == "2026-03-08T05:00:00Z");
  CHECK(FormatIsoUtc(ny.StartOfDay(date::year{2026} / 3 / 9)) == "2026-03-09T04:00:00Z");
  // Santiago's spring-forward skips midnight itself: the day starts at 01:00.
  const TimeZone santiago = *TimeZone::Locate("America/Santiago");
  CHECK(FormatIsoUtc(santiago.StartOfDay(date::year{2026} / 9 / 6)) == "2026-09-06T04:00:00Z");
  CHECK(TimeZone::Locate("Europe/Londn").status().message() ==
        "unknown time zone 'Europe/Londn'; use an IANA name such as UTC, Europe/London or "
        "America/New_York");
}
