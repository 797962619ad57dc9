// Logical dates and data intervals (Airflow's semantics; docs/scheduling.md, "Logical dates").
//
// The fire times of a cron cut time into intervals: each fire time starts an interval that
// lasts until the next one. The run for an interval is started when it ends; its logical date
// is the interval's start, and its ds that instant's calendar date in the schedule's zone.
//
// How runs.logical_date records a run (the run's key, what a backfill decides by):
//   - a schedule that fires at most once a day: the ds, "2026-11-28" (as reel always did);
//   - a schedule that may fire several times a day: the start as a UTC instant,
//     "2026-11-28T06:00:00Z", so that every interval of a day is a run of its own.
// Either form resolves back to the same interval (ResolveLogicalDate), given the schedule.
//
// A workflow without a schedule counts as daily at 00:00 UTC (DefaultDailySchedule).
// Pure functions of their arguments; safe from any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <date/date.h>

#include "engine/time/cron.h"
#include "reel/status.h"

namespace reel {

struct DataInterval {
  std::string logical_date;          // as runs.logical_date records it (see above)
  std::string ds;                    // YYYY-MM-DD of `start` in the schedule's zone
  std::chrono::sys_seconds start{};  // the logical instant
  std::chrono::sys_seconds end{};    // exclusive: the next fire time
  std::string start_text, end_text;  // ISO-8601 in the schedule's zone (FormatIsoInZone)

  bool operator==(const DataInterval&) const = default;
};

// Parses a calendar date written YYYY-MM-DD. Errors are InvalidArgument:
//   '2026-02-30' is not a valid date (YYYY-MM-DD)
Result<date::year_month_day> ParseDate(std::string_view text);
// "2026-02-28".
std::string FormatDate(date::year_month_day day);

// "0 0 * * *" in UTC: the schedule of a workflow that has none.
const CronSchedule& DefaultDailySchedule();

// True when `cron` matches more than one time of day (`0 * * * *`, `*/15 * * * *`,
// `0 0,12 * * *`): its runs are recorded by instant rather than by day.
bool FiresSeveralTimesADay(const CronSchedule& cron);

// `t` as wall-clock time in `zone` with its offset: "2026-07-04T22:00:00-07:00". In the UTC
// zone: "2026-07-05T05:00:00Z". The date part is always the local date, so it equals ds.
std::string FormatIsoInZone(const TimeZone& zone, std::chrono::sys_seconds t);

// An instant as the command line gives it: with Z or an offset it is absolute; without one
// ("2026-03-01T06:00", "2026-03-01 06:00:00") it is wall-clock time in `zone` (gaps and
// overlaps resolved as TimeZone::LocalToUtc does). A bare date is not accepted here.
Result<std::chrono::sys_seconds> ParseInstantInZone(const TimeZone& zone, std::string_view text);

// The interval of `cron` that starts at its fire time `start` (not checked).
Result<DataInterval> IntervalStartingAt(const CronSchedule& cron, std::chrono::sys_seconds start);

// The interval a logical date names, as written on the command line or in runs.logical_date:
//   "YYYY-MM-DD": the first interval that starts on that local day; on a day the schedule
//       does not fire, the day itself (local midnight to midnight);
//   an instant (ParseInstantInZone): the interval that starts there. An instant that is not a
//       fire time is InvalidArgument, naming the interval starts around it.
Result<DataInterval> ResolveLogicalDate(const CronSchedule& cron, std::string_view text);

}  // namespace reel
