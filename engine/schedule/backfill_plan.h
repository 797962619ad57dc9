// Backfill planning: which logical dates a backfill over calendar days D1..D2 covers. Pure
// logic, no I/O.
//
// A logical date is the start of a schedule interval (see docs/scheduling.md): for a daily
// 03:00 schedule, the run for ds=2026-11-29 covers [2026-11-29T03:00, 2026-11-30T03:00) and
// fires at the end of that interval. A backfill from D1 to D2 plans every interval whose
// start falls on a local day D1..D2 (inclusive) in the schedule's time zone.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <date/date.h>

#include "engine/time/cron.h"
#include "reel/status.h"

namespace reel {

struct LogicalDate {
  std::chrono::sys_seconds instant;  // the interval start, UTC
  std::string ds;                    // YYYY-MM-DD of `instant` in the schedule's time zone

  bool operator==(const LogicalDate&) const = default;
};

// Parses a calendar date written YYYY-MM-DD. Errors are InvalidArgument:
//   '2026-02-30' is not a valid date (YYYY-MM-DD)
Result<date::year_month_day> ParseDate(std::string_view text);
// "2026-02-28".
std::string FormatDate(date::year_month_day day);

struct BackfillPlanOptions {
  bool reverse = false;  // newest first
  // A guard against plans nobody meant ("* * * * *" over ten years): more logical dates
  // than this is an InvalidArgument that suggests narrowing the range.
  size_t max_dates = 100000;
};

// The logical dates of `schedule` (daily at 00:00 UTC when absent) whose interval starts
// fall on local days `from`..`to`, oldest first unless options.reverse. `from` after `to`
// is InvalidArgument. An empty list is valid (a weekly schedule over two days may hold no
// interval start).
Result<std::vector<LogicalDate>> PlanBackfill(const std::optional<CronSchedule>& schedule,
                                              std::string_view from, std::string_view to,
                                              const BackfillPlanOptions& options = {});

}  // namespace reel
