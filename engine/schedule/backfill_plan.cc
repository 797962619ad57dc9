#include "engine/schedule/backfill_plan.h"

#include <algorithm>

#include <fmt/format.h>

namespace reel {

using std::chrono::sys_seconds;

Result<date::year_month_day> ParseDate(std::string_view text) {
  const auto bad = [&] {
    return Status::InvalidArgument(fmt::format("'{}' is not a valid date (YYYY-MM-DD)", text));
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return bad();
  int parts[3] = {0, 0, 0};
  const size_t starts[3] = {0, 5, 8};
  const size_t widths[3] = {4, 2, 2};
  for (int p = 0; p < 3; ++p) {
    for (size_t k = 0; k < widths[p]; ++k) {
      const char c = text[starts[p] + k];
      if (c < '0' || c > '9') return bad();
      parts[p] = parts[p] * 10 + (c - '0');
    }
  }
  const date::year_month_day day{date::year{parts[0]}, date::month{unsigned(parts[1])},
                                 date::day{unsigned(parts[2])}};
  if (!day.ok()) return bad();
  return day;
}

std::string FormatDate(date::year_month_day day) { return date::format("%F", day); }

Result<std::vector<LogicalDate>> PlanBackfill(const std::optional<CronSchedule>& schedule,
                                              std::string_view from, std::string_view to,
                                              const BackfillPlanOptions& options) {
  REEL_ASSIGN_OR_RETURN(date::year_month_day first_day, ParseDate(from));
  REEL_ASSIGN_OR_RETURN(date::year_month_day last_day, ParseDate(to));
  if (date::sys_days{first_day} > date::sys_days{last_day}) {
    return Status::InvalidArgument("backfill range is reversed: --from " + std::string(from) +
                                   " is after --to " + std::string(to) +
                                   "; give the earlier date first (use --reverse to run "
                                   "newest first)");
  }

  CronSchedule cron = schedule ? *schedule : *CronSchedule::Parse("0 0 * * *", "UTC");
  const TimeZone& zone = cron.zone();
  // Interval starts in [start of D1, start of D2 + 1 day), local days in the schedule's zone.
  const sys_seconds begin = zone.StartOfDay(first_day);
  const sys_seconds end = zone.StartOfDay(date::sys_days{last_day} + date::days{1});

  std::vector<LogicalDate> dates;
  Result<sys_seconds> next = cron.NextAfter(begin - std::chrono::seconds{1});
  while (next.ok() && *next < end) {
    if (dates.size() >= options.max_dates) {
      return Status::InvalidArgument("backfill " + std::string(from) + ".." + std::string(to) +
                                     " of cron '" + cron.expression() + "' holds more than " +
                                     std::to_string(options.max_dates) +
                                     " intervals; narrow the date range");
    }
    dates.push_back({*next, FormatDate(zone.LocalDate(*next))});
    next = cron.NextAfter(*next);
  }
  if (!next.ok() && next.status().code() != Status::Code::kNotFound) return next.status();
  if (options.reverse) std::reverse(dates.begin(), dates.end());
  return dates;
}

}  // namespace reel
