// Next/previous fire times. The search walks the calendar in the schedule's local time,
// skipping a whole month, day or hour as soon as the field cannot match, then maps the
// local time to an instant with TimeZone::LocalToUtc. Because that mapping never decreases,
// the first local match whose instant lies after the bound is the answer.
#include "engine/time/cron.h"

#include <bit>

namespace reel {
namespace {

using std::chrono::minutes;
using std::chrono::sys_seconds;

// A local calendar minute. Fields are kept loose (day may pass the month's end for one
// step) and normalized by the search loops.
struct Civil {
  int year;
  int month;  // 1-12
  int day;    // 1-31
  int hour;
  int minute;
};

// How far the search looks: any valid month/day combination falls on every weekday within
// one 400-year Gregorian cycle.
constexpr int kSearchYears = 401;
constexpr int kMinYear = 1;
constexpr int kMaxYear = 9999;

int DaysIn(int year, int month) {
  const date::year_month_day_last last{date::year{year} / date::month{unsigned(month)} /
                                       date::last};
  return static_cast<int>(unsigned(last.day()));
}

int Weekday(const Civil& c) {
  const date::year_month_day ymd{date::year{c.year}, date::month{unsigned(c.month)},
                                 date::day{unsigned(c.day)}};
  return static_cast<int>(date::weekday{date::sys_days{ymd}}.c_encoding());
}

Civil FromLocal(date::local_seconds t) {
  const auto day = date::floor<date::days>(t);
  const date::year_month_day ymd{day};
  const auto since_midnight = date::floor<minutes>(t - day).count();
  return {int(ymd.year()), int(unsigned(ymd.month())), int(unsigned(ymd.day())),
          static_cast<int>(since_midnight / 60), static_cast<int>(since_midnight % 60)};
}

date::local_seconds ToLocal(const Civil& c) {
  const date::year_month_day ymd{date::year{c.year}, date::month{unsigned(c.month)},
                                 date::day{unsigned(c.day)}};
  return date::local_days{ymd} + std::chrono::hours{c.hour} + minutes{c.minute};
}

// The smallest set bit >= from, or -1.
int NextBit(uint64_t mask, int from) {
  if (from >= 64) return -1;
  mask >>= from;
  return mask ? from + std::countr_zero(mask) : -1;
}

// The largest set bit <= from, or -1.
int PrevBit(uint64_t mask, int from) {
  if (from < 0) return -1;
  if (from < 63) mask &= (uint64_t{2} << from) - 1;
  return mask ? 63 - std::countl_zero(mask) : -1;
}

void StartOfNextDay(Civil& c) {
  c.hour = 0;
  c.minute = 0;
  if (++c.day > DaysIn(c.year, c.month)) {
    c.day = 1;
    if (++c.month > 12) {
      c.month = 1;
      ++c.year;
    }
  }
}

void EndOfPreviousDay(Civil& c) {
  c.hour = 23;
  c.minute = 59;
  if (--c.day < 1) {
    if (--c.month < 1) {
      c.month = 12;
      --c.year;
    }
    c.day = DaysIn(c.year, c.month);
  }
}

}  // namespace

bool CronSchedule::MatchesDay(int day_of_month, int weekday) const {
  const bool dom = (days_of_month_ >> day_of_month) & 1;
  const bool dow = (days_of_week_ >> weekday) & 1;
  if (day_of_month_restricted_ && day_of_week_restricted_) return dom || dow;
  return dom && dow;
}

std::optional<date::local_seconds> CronSchedule::NextMatchingLocal(date::local_seconds from) const {
  Civil c = FromLocal(from);
  const int limit = std::min(c.year + kSearchYears, kMaxYear);
  while (c.year <= limit) {
    if (!MatchesMonth(c.month)) {
      const int month = NextBit(months_, c.month + 1);
      if (month < 0) {
        ++c.year;
        c.month = NextBit(months_, 1);
      } else {
        c.month = month;
      }
      c.day = 1;
      c.hour = 0;
      c.minute = 0;
      continue;
    }
    if (!MatchesDay(c.day, Weekday(c))) {
      StartOfNextDay(c);
      continue;
    }
    if (!MatchesHour(c.hour)) {
      const int hour = NextBit(hours_, c.hour + 1);
      if (hour < 0) {
        StartOfNextDay(c);
      } else {
        c.hour = hour;
        c.minute = 0;
      }
      continue;
    }
    if (!MatchesMinute(c.minute)) {
      const int minute = NextBit(minutes_, c.minute + 1);
      if (minute >= 0) {
        c.minute = minute;
      } else if (c.hour < 23) {
        ++c.hour;
        c.minute = 0;
      } else {
        StartOfNextDay(c);
      }
      continue;
    }
    return ToLocal(c);
  }
  return std::nullopt;
}

std::optional<date::local_seconds> CronSchedule::PrevMatchingLocal(date::local_seconds from) const {
  Civil c = FromLocal(from);
  const int limit = std::max(c.year - kSearchYears, kMinYear);
  while (c.year >= limit) {
    if (!MatchesMonth(c.month)) {
      const int month = PrevBit(months_, c.month - 1);
      if (month < 0) {
        --c.year;
        c.month = PrevBit(months_, 12);
      } else {
        c.month = month;
      }
      c.day = DaysIn(c.year, c.month);
      c.hour = 23;
      c.minute = 59;
      continue;
    }
    if (!MatchesDay(c.day, Weekday(c))) {
      EndOfPreviousDay(c);
      continue;
    }
    if (!MatchesHour(c.hour)) {
      const int hour = PrevBit(hours_, c.hour - 1);
      if (hour < 0) {
        EndOfPreviousDay(c);
      } else {
        c.hour = hour;
        c.minute = 59;
      }
      continue;
    }
    if (!MatchesMinute(c.minute)) {
      const int minute = PrevBit(minutes_, c.minute - 1);
      if (minute >= 0) {
        c.minute = minute;
      } else if (c.hour > 0) {
        --c.hour;
        c.minute = 59;
      } else {
        EndOfPreviousDay(c);
      }
      continue;
    }
    return ToLocal(c);
  }
  return std::nullopt;
}

Result<sys_seconds> CronSchedule::NextAfter(sys_seconds after) const {
  // Local minutes up to the one containing `after` map to instants <= after.
  date::local_seconds from = date::floor<minutes>(zone_.ToLocal(after)) + minutes{1};
  while (true) {
    std::optional<date::local_seconds> local = NextMatchingLocal(from);
    if (!local) {
      return Status::NotFound("cron '" + expression_ + "' does not fire after " +
                              FormatIsoUtc(after) + " within the supported years");
    }
    const sys_seconds t = zone_.LocalToUtc(*local);
    // Several local times inside one spring-forward gap share an instant, and a repeated
    // local time's first occurrence may precede `after`: skip to the next local minute.
    if (t > after) return t;
    from = *local + minutes{1};
  }
}

Result<sys_seconds> CronSchedule::PrevAtOrBefore(sys_seconds at) const {
  date::local_seconds from = date::floor<minutes>(zone_.LatestLocalAtOrBefore(at));
  while (true) {
    std::optional<date::local_seconds> local = PrevMatchingLocal(from);
    if (!local) {
      return Status::NotFound("cron '" + expression_ + "' does not fire at or before " +
                              FormatIsoUtc(at) + " within the supported years");
    }
    const sys_seconds t = zone_.LocalToUtc(*local);
    if (t <= at) return t;
    from = *local - minutes{1};
  }
}

}  // namespace reel
