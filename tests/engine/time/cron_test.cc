#include "engine/time/cron.h"

#include <set>
#include <string>
#include <vector>

#include <doctest/doctest.h>

using namespace reel;
using std::chrono::sys_seconds;

namespace {

sys_seconds At(const std::string& iso) {
  Result<sys_seconds> t = ParseIsoInstant(iso);
  REQUIRE_MESSAGE(t.ok(), t.status().ToString());
  return *t;
}

// The first `n` fire times after `from`, formatted.
std::vector<std::string> Next(const std::string& expr, const std::string& tz,
                              const std::string& from, int n) {
  Result<CronSchedule> cron = CronSchedule::Parse(expr, tz);
  REQUIRE_MESSAGE(cron.ok(), cron.status().ToString());
  std::vector<std::string> out;
  sys_seconds t = At(from);
  for (int i = 0; i < n; ++i) {
    Result<sys_seconds> next = cron->NextAfter(t);
    REQUIRE_MESSAGE(next.ok(), next.status().ToString());
    t = *next;
    out.push_back(FormatIsoUtc(t));
  }
  return out;
}

std::string ParseError(const std::string& expr, const std::string& tz = "UTC") {
  Result<CronSchedule> cron = CronSchedule::Parse(expr, tz);
  REQUIRE_FALSE(cron.ok());
  CHECK(cron.status().code() == Status::Code::kInvalidArgument);
  return cron.status().message();
}

struct NextCase {
  const char* expr;
  const char* tz;
  const char* from;
  std::vector<std::string> want;
};

void RunCases(const std::vector<NextCase>& cases) {
  for (const NextCase& c : cases) {
    CAPTURE(c.expr);
    CAPTURE(c.tz);
    CAPTURE(c.from);
    CHECK(Next(c.expr, c.tz, c.from, static_cast<int>(c.want.size())) == c.want);
  }
}

}  // namespace

TEST_CASE("cron: lists, ranges, steps and names") {
  RunCases({
      {"0 9 * * 1-5",
       "UTC",
       "2026-11-27T12:00:00Z",
       {"2026-11-30T09:00:00Z", "2026-12-01T09:00:00Z", "2026-12-02T09:00:00Z"}},
      {"0,30 8,17 * * *",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-01T08:00:00Z", "2026-01-01T08:30:00Z", "2026-01-01T17:00:00Z",
        "2026-01-01T17:30:00Z", "2026-01-02T08:00:00Z"}},
      {"0 9-11 * * *",
       "UTC",
       "2026-01-01T09:00:00Z",
       {"2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z", "2026-01-02T09:00:00Z"}},
      {"*/15 * * * *",
       "UTC",
       "2026-01-01T00:07:00Z",
       {"2026-01-01T00:15:00Z", "2026-01-01T00:30:00Z", "2026-01-01T00:45:00Z",
        "2026-01-01T01:00:00Z"}},
      {"1-30/10 * * * *",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-01T00:01:00Z", "2026-01-01T00:11:00Z", "2026-01-01T00:21:00Z",
        "2026-01-01T01:01:00Z"}},
      {"5/20 * * * *",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-01T00:05:00Z", "2026-01-01T00:25:00Z", "2026-01-01T00:45:00Z",
        "2026-01-01T01:05:00Z"}},
      {"0 0 1 jan,Jul *",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-07-01T00:00:00Z"}},
      {"0 12 * * MON-wed",
       "UTC",
       "2026-11-27T00:00:00Z",
       {"2026-11-30T12:00:00Z", "2026-12-01T12:00:00Z", "2026-12-02T12:00:00Z",
        "2026-12-07T12:00:00Z"}},
      {"0 0 * * 5-7",
       "UTC",
       "2026-11-26T00:00:00Z",  // Fri, Sat, Sun (7)
       {"2026-11-27T00:00:00Z", "2026-11-28T00:00:00Z", "2026-11-29T00:00:00Z",
        "2026-12-04T00:00:00Z"}},
      {"0 0 1-3/2 * *",
       "UTC",
       "2026-02-01T00:00:00Z",
       {"2026-02-03T00:00:00Z", "2026-03-01T00:00:00Z", "2026-03-03T00:00:00Z"}},
      {"  0   0  *  *  * ", "UTC", "2026-02-01T00:00:00Z", {"2026-02-02T00:00:00Z"}},
  });
}

TEST_CASE("cron: 0 and 7 are both Sunday") {
  const std::vector<std::string> sundays = {"2026-11-29T00:00:00Z", "2026-12-06T00:00:00Z"};
  CHECK(Next("0 0 * * 0", "UTC", "2026-11-27T00:00:00Z", 2) == sundays);
  CHECK(Next("0 0 * * 7", "UTC", "2026-11-27T00:00:00Z", 2) == sundays);
  CHECK(Next("0 0 * * sun", "UTC", "2026-11-27T00:00:00Z", 2) == sundays);
}

TEST_CASE("cron: day-of-month and day-of-week both restricted match either (Vixie)") {
  // The 13th, or any Friday.
  CHECK(Next("0 0 13 * 5", "UTC", "2026-11-01T00:00:00Z", 8) ==
        std::vector<std::string>{"2026-11-06T00:00:00Z", "2026-11-13T00:00:00Z",
                                 "2026-11-20T00:00:00Z", "2026-11-27T00:00:00Z",
                                 "2026-12-04T00:00:00Z", "2026-12-11T00:00:00Z",
                                 "2026-12-13T00:00:00Z", "2026-12-18T00:00:00Z"});
  // A field that starts with '*' counts as unrestricted, so both must match: days 1, 11,
  // 21, 31 that are Mondays.
  CHECK(Next("0 0 */10 * 1", "UTC", "2026-01-01T00:00:00Z", 4) ==
        std::vector<std::string>{"2026-05-11T00:00:00Z", "2026-06-01T00:00:00Z",
                                 "2026-08-31T00:00:00Z", "2026-09-21T00:00:00Z"});
}

TEST_CASE("cron: macros") {
  RunCases({
      {"@yearly", "UTC", "2026-06-15T10:30:00Z", {"2027-01-01T00:00:00Z"}},
      {"@annually", "UTC", "2026-06-15T10:30:00Z", {"2027-01-01T00:00:00Z"}},
      {"@monthly", "UTC", "2026-06-15T10:30:00Z", {"2026-07-01T00:00:00Z"}},
      {"@weekly", "UTC", "2026-06-15T10:30:00Z", {"2026-06-21T00:00:00Z"}},
      {"@daily", "UTC", "2026-06-15T10:30:00Z", {"2026-06-16T00:00:00Z"}},
      {"@DAILY", "UTC", "2026-06-15T10:30:00Z", {"2026-06-16T00:00:00Z"}},
      {"@midnight", "UTC", "2026-06-15T10:30:00Z", {"2026-06-16T00:00:00Z"}},
      {"@hourly", "UTC", "2026-06-15T10:30:00Z", {"2026-06-15T11:00:00Z", "2026-06-15T12:00:00Z"}},
      {"@daily", "Europe/London", "2026-06-15T10:30:00Z", {"2026-06-15T23:00:00Z"}},
  });
  Result<CronSchedule> cron = CronSchedule::Parse("@daily");
  REQUIRE(cron.ok());
  CHECK(cron->expression() == "@daily");
  CHECK(cron->timezone() == "UTC");
}

TEST_CASE("cron: leap days and month ends") {
  RunCases({
      {"0 0 29 2 *",
       "UTC",
       "2025-01-01T00:00:00Z",
       {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
      // 2100 is not a leap year.
      {"0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", {"2104-02-29T00:00:00Z"}},
      {"0 0 31 * *",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z",
        "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z", "2026-10-31T00:00:00Z",
        "2026-12-31T00:00:00Z", "2027-01-31T00:00:00Z"}},
      {"59 23 31 12 *", "UTC", "2026-12-31T23:59:00Z", {"2027-12-31T23:59:00Z"}},
  });
}

TEST_CASE("cron: DST in America/New_York") {
  RunCases({
      // Spring forward 2026-03-08: 02:00 EST -> 03:00 EDT. 02:30 does not exist that day
      // and fires once, at the end of the gap (03:00 EDT = 07:00Z).
      {"30 2 * * *",
       "America/New_York",
       "2026-03-07T00:00:00Z",
       {"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
      // Every local time in the gap and 03:00 itself share one instant: it fires once.
      {"*/30 * * * *",
       "America/New_York",
       "2026-03-08T06:00:00Z",
       {"2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"}},
      // Fall back 2026-11-01: 02:00 EDT -> 01:00 EST. 01:30 happens twice and fires once,
      // at its first occurrence (01:30 EDT = 05:30Z).
      {"30 1 * * *",
       "America/New_York",
       "2026-10-31T12:00:00Z",
       {"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
      {"0 * * * *",
       "America/New_York",
       "2026-11-01T04:00:00Z",
       {"2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z", "2026-11-01T08:00:00Z"}},
      // A daily job outside the transition keeps its local time across it.
      {"0 9 * * *",
       "America/New_York",
       "2026-03-07T00:00:00Z",
       {"2026-03-07T14:00:00Z", "2026-03-08T13:00:00Z"}},
  });
}

TEST_CASE("cron: DST in Europe/London") {
  RunCases({
      // Spring forward 2026-03-29 at 01:00 GMT -> 02:00 BST.
      {"30 1 * * *",
       "Europe/London",
       "2026-03-28T12:00:00Z",
       {"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
      // Fall back 2026-10-25 at 02:00 BST -> 01:00 GMT.
      {"30 1 * * *",
       "Europe/London",
       "2026-10-24T12:00:00Z",
       {"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
      {"*/20 1 * * *",
       "Europe/London",
       "2026-10-25T00:00:00Z",
       {"2026-10-25T00:20:00Z", "2026-10-25T00:40:00Z", "2026-10-26T01:00:00Z"}},
  });
}

TEST_CASE("cron: PrevAtOrBefore finds the start of the current interval") {
  Result<CronSchedule> weekdays = CronSchedule::Parse("0 9 * * 1-5");
  REQUIRE(weekdays.ok());
  CHECK(FormatIsoUtc(*weekdays->PrevAtOrBefore(At("2026-11-30T09:00:00Z"))) ==
        "2026-11-30T09:00:00Z");
  CHECK(FormatIsoUtc(*weekdays->PrevAtOrBefore(At("2026-11-30T08:59:59Z"))) ==
        "2026-11-27T09:00:00Z");

  Result<CronSchedule> quarter = CronSchedule::Parse("*/15 * * * *", "America/New_York");
  REQUIRE(quarter.ok());
  // 06:20Z is 01:20 EST, the second pass through 01:00-02:00. The repeated 01:xx times
  // fired during the first pass (EDT); the last of them was 01:45 EDT = 05:45Z.
  CHECK(FormatIsoUtc(*quarter->PrevAtOrBefore(At("2026-11-01T06:20:00Z"))) ==
        "2026-11-01T05:45:00Z");
  CHECK(FormatIsoUtc(*quarter->NextAfter(At("2026-11-01T06:20:00Z"))) == "2026-11-01T07:00:00Z");

  Result<CronSchedule> leap = CronSchedule::Parse("0 0 29 2 *");
  REQUIRE(leap.ok());
  CHECK(FormatIsoUtc(*leap->PrevAtOrBefore(At("2104-01-01T00:00:00Z"))) == "2096-02-29T00:00:00Z");
}

// Reference: every matching local minute in a window, mapped with date's own to_sys
// (earliest occurrence; a nonexistent time maps to the end of its gap). NextAfter and
// PrevAtOrBefore must agree with it at every minute (and half minute) of the window.
TEST_CASE("cron: next and previous agree with a brute-force reference around transitions") {
  const std::vector<std::string> zones = {"America/New_York", "Europe/London",
                                          "Australia/Lord_Howe", "Asia/Kolkata", "UTC"};
  const std::vector<std::string> exprs = {"* * * * *",  "*/15 * * * *",   "30 1 * * *",
                                          "0 2 * * *",  "30 2 * * *",     "0,30 0-3 * * *",
                                          "59 1 * * 0", "10 1-2 * * 0,6", "45 23 * * *"};
  for (const std::string& tz : zones) {
    const date::time_zone* zone = date::locate_zone(tz);
    // The first two transitions of 2026 (or none for fixed zones), with two days around.
    std::vector<sys_seconds> centers;
    sys_seconds t = At("2026-01-01T00:00:00Z");
    for (int k = 0; k < 2; ++k) {
      const date::sys_info info = zone->get_info(t);
      if (info.end > At("2027-01-01T00:00:00Z")) break;
      centers.push_back(info.end);
      t = info.end;
    }
    if (centers.empty()) centers.push_back(At("2026-06-01T00:00:00Z"));
    for (const std::string& expr : exprs) {
      Result<CronSchedule> cron = CronSchedule::Parse(expr, tz);
      REQUIRE(cron.ok());
      for (sys_seconds center : centers) {
        const sys_seconds lo = center - std::chrono::hours{48};
        const sys_seconds hi = center + std::chrono::hours{48};
        std::set<sys_seconds> fires;
        const auto local_lo =
            date::floor<std::chrono::minutes>(zone->to_local(lo)) - std::chrono::hours{3};
        const auto local_hi = zone->to_local(hi) + date::days{8};
        for (auto l = local_lo; l <= local_hi; l += std::chrono::minutes{1}) {
          const auto day = date::floor<date::days>(l);
          const date::year_month_day ymd{day};
          const date::hh_mm_ss<std::chrono::minutes> tod{
              date::floor<std::chrono::minutes>(l - day)};
          if (!cron->MatchesMinute(int(tod.minutes().count())) ||
              !cron->MatchesHour(int(tod.hours().count())) ||
              !cron->MatchesMonth(int(unsigned(ymd.month()))) ||
              !cron->MatchesDay(int(unsigned(ymd.day())), int(date::weekday{day}.c_encoding()))) {
            continue;
          }
          fires.insert(zone->to_sys(l, date::choose::earliest));
        }
        // Every minute of the window, alternately on the minute and half past it.
        int mismatches = 0;
        for (sys_seconds q = lo; q < hi && mismatches < 5; q += std::chrono::seconds{90}) {
          auto next = fires.upper_bound(q);
          REQUIRE(next != fires.end());
          const bool has_prev = next != fires.begin() && *std::prev(next) >= lo;
          if (*cron->NextAfter(q) == *next &&
              (!has_prev || *cron->PrevAtOrBefore(q) == *std::prev(next))) {
            continue;
          }
          ++mismatches;
          CAPTURE(tz);
          CAPTURE(expr);
          CAPTURE(FormatIsoUtc(q));
          CHECK(FormatIsoUtc(*cron->NextAfter(q)) == FormatIsoUtc(*next));
          if (has_prev) {
            CHECK(FormatIsoUtc(*cron->PrevAtOrBefore(q)) == FormatIsoUtc(*std::prev(next)));
          }
        }
        CHECK(mismatches == 0);
      }
    }
  }
}

TEST_CASE("cron: ten thousand successive fires are strictly increasing") {
  Result<CronSchedule> cron = CronSchedule::Parse("*/7 1-4 * * *", "America/New_York");
  REQUIRE(cron.ok());
  sys_seconds t = At("2026-01-01T00:00:00Z");
  for (int i = 0; i < 10000; ++i) {
    Result<sys_seconds> next = cron->NextAfter(t);
    REQUIRE(next.ok());
    REQUIRE(*next > t);
    REQUIRE(*cron->PrevAtOrBefore(*next) == *next);
    t = *next;
  }
}

TEST_CASE("cron: bad expressions name the field and the token") {
  const std::string p = "invalid cron expression ";
  CHECK(ParseError("61 * * * *") == p + "'61 * * * *': minute: '61' is out of range 0-59");
  CHECK(ParseError("* 24 * * *") == p + "'* 24 * * *': hour: '24' is out of range 0-23");
  CHECK(ParseError("* * 0 * *") == p + "'* * 0 * *': day-of-month: '0' is out of range 1-31");
  CHECK(ParseError("* * 32 * *") == p + "'* * 32 * *': day-of-month: '32' is out of range 1-31");
  CHECK(ParseError("* * * 13 *") == p + "'* * * 13 *': month: '13' is out of range 1-12");
  CHECK(ParseError("* * * * 8") == p + "'* * * * 8': day-of-week: '8' is out of range 0-7");
  CHECK(ParseError("* * * FOO *") ==
        p + "'* * * FOO *': month: 'FOO' is not a month name (JAN-DEC) or a number 1-12");
  CHECK(ParseError("* * * * FUN") ==
        p + "'* * * * FUN': day-of-week: 'FUN' is not a day name (SUN-SAT) or a number 0-7");
  CHECK(ParseError("*/0 * * * *") ==
        p + "'*/0 * * * *': minute: '*/0' has step '0'; use a step from 1 to 60");
  CHECK(ParseError("* */x * * *") ==
        p + "'* */x * * *': hour: '*/x' has step 'x'; use a step from 1 to 24");
  CHECK(ParseError("5-2 * * * *") ==
        p + "'5-2 * * * *': minute: '5-2' is a reversed range; write the smaller value first");
  CHECK(ParseError("1,,2 * * * *") == p + "'1,,2 * * * *': minute: '1,,2' has an empty list item");
  CHECK(ParseError("a b c d e") == p + "'a b c d e': minute: 'a' is not a number 0-59");
  CHECK(ParseError("* * * *") ==
        p + "'* * * *': expected 5 fields (minute hour day-of-month month day-of-week) but "
            "found 4");
  CHECK(ParseError("* * * * * *") ==
        p + "'* * * * * *': expected 5 fields (minute hour day-of-month month day-of-week) "
            "but found 6");
  CHECK(ParseError("") == p + "'': the expression is empty; expected 5 fields (minute hour "
                              "day-of-month month day-of-week)");
  CHECK(ParseError("@reboot") ==
        p + "'@reboot': '@reboot' is not a known macro; use @yearly, @annually, @monthly, "
            "@weekly, @daily, @midnight or @hourly");
  CHECK(ParseError("0 0 30 2 *") ==
        p + "'0 0 30 2 *': day-of-month: '30' never occurs in month '2', so the schedule "
            "would never fire");
  CHECK(ParseError("0 0 31 4,6,9,11 *").find("never occurs") != std::string::npos);
  // Restricting day-of-week too makes it fire on those weekdays instead (Vixie OR).
  CHECK(CronSchedule::Parse("0 0 30 2 MON").ok());
}

TEST_CASE("cron: structured errors and unknown time zones") {
  CronError error;
  CHECK_FALSE(CronSchedule::Parse("0 9 * * MON-FRY", "UTC", &error).ok());
  CHECK(error.field == "day-of-week");
  CHECK(error.token == "FRY");
  CHECK(error.message.find("'FRY' is not a day name") != std::string::npos);

  Result<CronSchedule> mars = CronSchedule::Parse("0 0 * * *", "Mars/Base", &error);
  REQUIRE_FALSE(mars.ok());
  CHECK(mars.status().code() == Status::Code::kInvalidArgument);
  CHECK(mars.status().message() ==
        "unknown time zone 'Mars/Base'; use an IANA name such as UTC, Europe/London or "
        "America/New_York");
  CHECK(error.field == "timezone");
  CHECK(error.token == "Mars/Base");
}

TEST_CASE("ISO-8601 instants") {
  CHECK(FormatIsoUtc(At("2026-11-30T09:00:00Z")) == "2026-11-30T09:00:00Z");
  CHECK(At("2026-11-30T10:00:00+01:00") == At("2026-11-30T09:00:00Z"));
  CHECK(At("2026-11-30T04:00:00-0500") == At("2026-11-30T09:00:00Z"));
  CHECK(At("2026-11-30T14:30:00+05:30") == At("2026-11-30T09:00:00Z"));
  CHECK(At("2026-11-30T09:00:00.999Z") == At("2026-11-30T09:00:00Z"));
  CHECK(At("2026-11-30T09:00Z") == At("2026-11-30T09:00:00Z"));
  CHECK(At("2026-11-30 09:00:00") == At("2026-11-30T09:00:00Z"));
  CHECK(FormatIsoUtc(At("2026-11-30")) == "2026-11-30T00:00:00Z");
  for (const char* bad : {"2026-02-30", "2026-11-30T25:00:00Z", "yesterday", "2026-11-30T09",
                          "2026-11-30T09:00:00+01:00junk", "2026-11-30T09:00:00.Z", ""}) {
    CAPTURE(bad);
    Result<sys_seconds> t = ParseIsoInstant(bad);
    REQUIRE_FALSE(t.ok());
    CHECK(t.status().message().find("is not an ISO-8601 instant") != std::string::npos);
  }
  CHECK(ParseIsoInstant("2026-02-30").status().message() ==
        "'2026-02-30' is not an ISO-8601 instant (no such date); use YYYY-MM-DD, or "
        "YYYY-MM-DDTHH:MM:SS followed by Z or an offset such as +01:00");
}
