// Backfill planning: which logical dates a backfill from D1 to D2 covers. Pure logic, no I/O.
//
// A logical date is the start of a schedule interval (see docs/scheduling.md and
// engine/time/data_interval.h): for a daily 03:00 schedule, the run for ds=2026-11-29 covers
// [2026-11-29T03:00, 2026-11-30T03:00) and fires at the end of that interval. A backfill plans
// every interval whose start falls in its range: from the start of local day D1 to the end of
// local day D2 in the schedule's time zone, or from/to an instant when one is given.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <date/date.h>

#include "engine/time/cron.h"
#include "engine/time/data_interval.h"
#include "reel/status.h"

namespace reel {

struct LogicalDate {
  std::chrono::sys_seconds instant;  // the interval start, UTC
  std::string ds;                    // YYYY-MM-DD of `instant` in the schedule's time zone
  // What runs.logical_date records for the run of this interval: the ds, or the UTC instant
  // for a schedule that fires several times a day (DataInterval::logical_date).
  std::string key;
  std::chrono::sys_seconds end;  // the interval end (exclusive), UTC

  bool operator==(const LogicalDate&) const = default;
};

struct BackfillPlanOptions {
  bool reverse = false;  // newest first
  // A guard against plans nobody meant ("* * * * *" over ten years): more logical dates
  // than this is an InvalidArgument that suggests narrowing the range.
  size_t max_dates = 100000;
};

// The logical dates of `schedule` (daily at 00:00 UTC when absent) whose interval starts
// fall from `from` to `to` (both inclusive), oldest first unless options.reverse. Each bound is
// a date YYYY-MM-DD (a local day in the schedule's zone: from its first instant, to its last)
// or an instant ("2026-03-01T06:00Z"; without Z or an offset, wall-clock time in the
// schedule's zone). `from` after `to` is InvalidArgument. An empty list is valid (a weekly
// schedule over two days may hold no interval start).
Result<std::vector<LogicalDate>> PlanBackfill(const std::optional<CronSchedule>& schedule,
                                              std::string_view from, std::string_view to,
                                              const BackfillPlanOptions& options = {});

}  // namespace reel
