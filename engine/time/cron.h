// Cron schedules: five-field expressions evaluated in an IANA time zone.
//
//   minute hour day-of-month month day-of-week
//
// Each field takes `*`, numbers, names (JAN-DEC, SUN-SAT, any case), ranges `a-b`, steps
// `*/n`, `a-b/n` and `a/n` (= a-max/n), and comma lists of these. Day-of-week 0 and 7 are
// both Sunday. Macros: @yearly @annually @monthly @weekly @daily @midnight @hourly.
// When day-of-month and day-of-week are both restricted (neither field starts with `*`), a
// day matches if either does (Vixie cron); otherwise both must match.
//
// Times are wall-clock times in the schedule's zone. A time skipped by a spring-forward gap
// fires once, at the end of the gap; a time repeated by a fall-back overlap fires once, at
// its first occurrence (see engine/time/time_zone.h).
//
// A CronSchedule is an immutable value: copy it freely and call it from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/time/time_zone.h"
#include "reel/status.h"

namespace reel {

// Where a parse failed, for callers that point into a larger document (a workflow's
// `schedule:`). `field` is "minute", "hour", "day-of-month", "month" or "day-of-week", or
// empty when the expression as a whole is wrong (field count, unknown macro, time zone).
struct CronError {
  std::string field;
  std::string token;    // the offending text as written, e.g. "61" or "*/0"
  std::string message;  // the whole error text, as in the returned Status
};

class CronSchedule {
 public:
  // Errors are InvalidArgument and name the field and the bad token:
  //   invalid cron expression '61 * * * *': minute: '61' is out of range 0-59
  // An expression that can never fire ("0 0 30 2 *") is rejected here. When `error` is
  // given it receives the structured form of the failure.
  static Result<CronSchedule> Parse(std::string_view expression, std::string_view timezone = "UTC",
                                    CronError* error = nullptr);

  // The first fire time strictly after `after`. The search skips whole months, days and
  // hours that cannot match, so it costs microseconds; it is bounded (a valid schedule
  // fires at least once in 400 years) and returns NotFound past year 9999.
  Result<std::chrono::sys_seconds> NextAfter(std::chrono::sys_seconds after) const;
  // The latest fire time at or before `at` (the start of the interval that contains `at`).
  Result<std::chrono::sys_seconds> PrevAtOrBefore(std::chrono::sys_seconds at) const;

  // The expression as given (macros are kept as written) and the zone name.
  const std::string& expression() const { return expression_; }
  const std::string& timezone() const { return zone_.name(); }
  const TimeZone& zone() const { return zone_; }

  // Field matching, exposed for tests and for `reel schedule` explanations.
  bool MatchesMinute(int minute) const { return (minutes_ >> minute) & 1; }
  bool MatchesHour(int hour) const { return (hours_ >> hour) & 1; }
  bool MatchesMonth(int month) const { return (months_ >> month) & 1; }
  // Applies the day-of-month/day-of-week rule. `weekday` is 0 (Sunday) to 6.
  bool MatchesDay(int day_of_month, int weekday) const;

 private:
  friend class CronParser;
  CronSchedule() : zone_(TimeZone::Utc()) {}
  // The smallest matching local minute >= from / the largest <= from, ignoring the zone;
  // nullopt past the search bound.
  std::optional<date::local_seconds> NextMatchingLocal(date::local_seconds from) const;
  std::optional<date::local_seconds> PrevMatchingLocal(date::local_seconds from) const;

  std::string expression_;
  TimeZone zone_;
  uint64_t minutes_ = 0;                  // bit m: minute m (0-59)
  uint32_t hours_ = 0;                    // bit h: hour h (0-23)
  uint32_t days_of_month_ = 0;            // bit d: day d (1-31)
  uint32_t months_ = 0;                   // bit m: month m (1-12)
  uint32_t days_of_week_ = 0;             // bit w: weekday w (0 = Sunday .. 6)
  bool day_of_month_restricted_ = false;  // the field does not start with '*'
  bool day_of_week_restricted_ = false;
};

// "2026-11-30T09:00:00Z".
std::string FormatIsoUtc(std::chrono::sys_seconds t);

// Accepts "2026-11-30T09:00:00Z", offsets ("+01:00", "-0530"), fractional seconds (dropped:
// the instant is floored to the second), a time without seconds ("2026-11-30T09:00Z"), a
// time without an offset (taken as UTC), a space instead of 'T', and a bare date
// "2026-11-30" (00:00 UTC). Errors are InvalidArgument and show the expected forms.
Result<std::chrono::sys_seconds> ParseIsoInstant(std::string_view text);

}  // namespace reel
