// PosixTzRule: the POSIX TZ string that ends a TZif file ("EST5EDT,M3.2.0,M11.1.0"). The OS
// tz database lists explicit transitions only up to 2037; this rule gives the zone's
// offsets for instants after the last listed transition, so schedules stay correct in
// 2038 and beyond. Immutable; safe to share between threads.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace reel {

struct ZonePeriod {
  std::chrono::sys_seconds begin;  // inclusive
  std::chrono::sys_seconds end;    // exclusive
  std::chrono::seconds offset;     // local time minus UTC (east of Greenwich is positive)
};

class PosixTzRule {
 public:
  // Accepts "std offset [dst [offset] [,start[/time],end[/time]]]" with rules Jn, n and
  // Mm.w.d and quoted names ("<+0330>-3:30"). nullopt when the text is not such a string.
  static std::optional<PosixTzRule> Parse(std::string_view text);
  // The footer of the TZif file at `path`, parsed; nullopt when unreadable or absent.
  static std::optional<PosixTzRule> FromTzifFile(const std::string& path);

  bool has_dst() const { return has_dst_; }
  // The period of constant offset that contains `t`.
  ZonePeriod PeriodAt(std::chrono::sys_seconds t) const;

  // When daylight time starts or ends within a year: a day, and a local wall time on it.
  struct Transition {
    enum class Kind { kJulianNoLeap, kZeroBasedDay, kMonthWeekDay } kind = Kind::kMonthWeekDay;
    int month = 0;  // kMonthWeekDay: 1-12
    int week = 0;   // kMonthWeekDay: 1-5, 5 = the last such weekday of the month
    int day = 0;    // weekday 0-6 (Sunday = 0), or the day number for the Julian kinds
    std::chrono::seconds time{7200};  // wall time of the change, may be negative or > 24h
  };

 private:
  std::chrono::seconds std_offset_{0};  // east-positive (POSIX writes them west-positive)
  std::chrono::seconds dst_offset_{0};
  bool has_dst_ = false;
  Transition start_;  // wall time in standard time
  Transition end_;    // wall time in daylight time
};

}  // namespace reel
