#include "engine/schedule/backfill_plan.h"

#include <algorithm>

#include <fmt/format.h>

namespace reel {

using std::chrono::sys_seconds;

namespace {

// The first instant a --from bound admits (`inclusive_end` false) or the instant just past
// the last one a --to bound admits (true).
Result<sys_seconds> RangeBound(const TimeZone& zone, std::string_view text, bool inclusive_end) {
  if (text.size() <= 10) {
    REEL_ASSIGN_OR_RETURN(date::year_month_day day, ParseDate(text));
    return inclusive_end ? zone.StartOfDay(date::sys_days{day} + date::days{1})
                         : zone.StartOfDay(day);
  }
  REEL_ASSIGN_OR_RETURN(sys_seconds at, ParseInstantInZone(zone, text));
  return inclusive_end ? at + std::chrono::seconds{1} : at;
}

}  // namespace

Result<std::vector<LogicalDate>> PlanBackfill(const std::optional<CronSchedule>& schedule,
                                              std::string_view from, std::string_view to,
                                              const BackfillPlanOptions& options) {
  const CronSchedule& cron = schedule ? *schedule : DefaultDailySchedule();
  const TimeZone& zone = cron.zone();
  // Interval starts in [begin, end).
  REEL_ASSIGN_OR_RETURN(const sys_seconds begin, RangeBound(zone, from, false));
  REEL_ASSIGN_OR_RETURN(const sys_seconds end, RangeBound(zone, to, true));
  if (begin >= end) {
    return Status::InvalidArgument("backfill range is reversed: --from " + std::string(from) +
                                   " is after --to " + std::string(to) +
                                   "; give the earlier date first (use --reverse to run "
                                   "newest first)");
  }

  std::vector<LogicalDate> dates;
  Result<sys_seconds> next = cron.NextAfter(begin - std::chrono::seconds{1});
  while (next.ok() && *next < end) {
    if (dates.size() >= options.max_dates) {
      return Status::InvalidArgument("backfill " + std::string(from) + ".." + std::string(to) +
                                     " of cron '" + cron.expression() + "' holds more than " +
                                     std::to_string(options.max_dates) +
                                     " intervals; narrow the date range");
    }
    REEL_ASSIGN_OR_RETURN(DataInterval interval, IntervalStartingAt(cron, *next));
    dates.push_back({.instant = interval.start,
                     .ds = interval.ds,
                     .key = interval.logical_date,
                     .end = interval.end});
    next = cron.NextAfter(*next);
  }
  if (!next.ok() && next.status().code() != Status::Code::kNotFound) return next.status();
  if (options.reverse) std::reverse(dates.begin(), dates.end());
  return dates;
}

}  // namespace reel
