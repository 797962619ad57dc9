// TimeZone: an IANA time zone as schedules use it. Wraps Howard Hinnant's date/tz (the OS
// tzdata under /usr/share/zoneinfo) and fixes one rule for local times that do not map to
// exactly one instant:
//
//   - a local time inside a spring-forward gap maps to the instant the gap ends
//     (02:30 on 2026-03-08 in America/New_York -> 07:00Z, which is 03:00 EDT);
//   - a local time repeated by a fall-back overlap maps to its first occurrence
//     (01:30 on 2026-11-01 in America/New_York -> 05:30Z, which is 01:30 EDT).
//
// The mapping LocalToUtc is therefore non-decreasing in local time, which the cron search
// relies on. After the last transition the tz database lists (2037 in the usual "fat"
// files), offsets come from the POSIX TZ rule at the end of the zone's TZif file. A TimeZone is a
// cheap value (a pointer into the process-wide tz database) and every method is const and safe to
// call from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <date/tz.h>

#include "engine/time/posix_tz.h"
#include "reel/status.h"

namespace reel {

class TimeZone {
 public:
  // "UTC", "Europe/London", "America/New_York", ... Unknown names are InvalidArgument:
  // "unknown time zone 'Mars/Base'; use an IANA name such as UTC, Europe/London or
  // America/New_York".
  static Result<TimeZone> Locate(std::string_view name);
  static TimeZone Utc();

  const std::string& name() const { return name_; }

  // The wall-clock time at instant `t`.
  date::local_seconds ToLocal(std::chrono::sys_seconds t) const;
  // The instant of local time `local`, resolving gaps and overlaps as described above.
  std::chrono::sys_seconds LocalToUtc(date::local_seconds local) const;
  // The largest local time L with LocalToUtc(L) <= t. Equals ToLocal(t) except during the
  // second pass through a fall-back overlap, where every repeated local time already mapped
  // (by its first occurrence) to an instant before t.
  date::local_seconds LatestLocalAtOrBefore(std::chrono::sys_seconds t) const;
  // The calendar date at instant `t` in this zone.
  date::year_month_day LocalDate(std::chrono::sys_seconds t) const;
  // The first instant of local day `day` (LocalToUtc of its 00:00).
  std::chrono::sys_seconds StartOfDay(date::year_month_day day) const;
  // The period of constant offset that contains `t`.
  ZonePeriod PeriodAt(std::chrono::sys_seconds t) const;

 private:
  TimeZone(const date::time_zone* zone, std::string name, std::shared_ptr<const PosixTzRule> tail)
      : zone_(zone), name_(std::move(name)), tail_(std::move(tail)) {}
  const date::time_zone* zone_;  // owned by the tz database, lives for the whole process
  std::string name_;
  // The rule past the last listed transition; null when the zone has no daylight time
  // there (its last listed offset then holds forever).
  std::shared_ptr<const PosixTzRule> tail_;
};

}  // namespace reel
