#include "engine/time/data_interval.h"

#include <cstdlib>

#include <fmt/format.h>

namespace reel {

using std::chrono::seconds;
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

const CronSchedule& DefaultDailySchedule() {
  static const CronSchedule daily = *CronSchedule::Parse("0 0 * * *", "UTC");
  return daily;
}

bool FiresSeveralTimesADay(const CronSchedule& cron) {
  int minutes = 0, hours = 0;
  for (int m = 0; m < 60; ++m) minutes += cron.MatchesMinute(m) ? 1 : 0;
  for (int h = 0; h < 24; ++h) hours += cron.MatchesHour(h) ? 1 : 0;
  return minutes * hours > 1;
}

std::string FormatIsoInZone(const TimeZone& zone, sys_seconds t) {
  if (zone.name() == "UTC") return FormatIsoUtc(t);
  const date::local_seconds local = zone.ToLocal(t);
  const long offset = static_cast<long>((local.time_since_epoch() - t.time_since_epoch()).count());
  const long minutes = std::labs(offset) / 60;
  return fmt::format("{}{}{:02}:{:02}", date::format("%FT%T", local), offset < 0 ? '-' : '+',
                     minutes / 60, minutes % 60);
}

Result<sys_seconds> ParseInstantInZone(const TimeZone& zone, std::string_view text) {
  const bool has_time = text.size() > 10;
  if (!has_time) {
    return Status::InvalidArgument(
        fmt::format("'{}' is not an instant; use YYYY-MM-DDTHH:MM[:SS], optionally followed by Z "
                    "or an offset such as +01:00",
                    text));
  }
  // An offset or Z follows the time; a '-' before position 10 belongs to the date.
  const std::string_view rest = text.substr(10);
  const bool absolute = rest.find_first_of("Zz+-") != std::string_view::npos;
  REEL_ASSIGN_OR_RETURN(sys_seconds t, ParseIsoInstant(text));
  if (absolute) return t;
  return zone.LocalToUtc(date::local_seconds{t.time_since_epoch()});
}

Result<DataInterval> IntervalStartingAt(const CronSchedule& cron, sys_seconds start) {
  REEL_ASSIGN_OR_RETURN(sys_seconds end, cron.NextAfter(start));
  DataInterval interval;
  interval.ds = FormatDate(cron.zone().LocalDate(start));
  interval.logical_date = FiresSeveralTimesADay(cron) ? FormatIsoUtc(start) : interval.ds;
  interval.start = start;
  interval.end = end;
  interval.start_text = FormatIsoInZone(cron.zone(), start);
  interval.end_text = FormatIsoInZone(cron.zone(), end);
  return interval;
}

Result<DataInterval> ResolveLogicalDate(const CronSchedule& cron, std::string_view text) {
  const TimeZone& zone = cron.zone();
  if (text.size() <= 10) {
    REEL_ASSIGN_OR_RETURN(date::year_month_day day, ParseDate(text));
    const sys_seconds day_start = zone.StartOfDay(day);
    const sys_seconds day_end = zone.StartOfDay(date::sys_days{day} + date::days{1});
    Result<sys_seconds> first = cron.NextAfter(day_start - seconds{1});
    if (first.ok() && *first < day_end) return IntervalStartingAt(cron, *first);
    if (!first.ok() && first.status().code() != Status::Code::kNotFound) return first.status();
    // The schedule does not fire that day (a weekly one, say): the day itself.
    DataInterval interval;
    interval.ds = FormatDate(day);
    interval.logical_date = interval.ds;  // resolves back to this day, whatever the schedule
    interval.start = day_start;
    interval.end = day_end;
    interval.start_text = FormatIsoInZone(zone, day_start);
    interval.end_text = FormatIsoInZone(zone, day_end);
    return interval;
  }
  REEL_ASSIGN_OR_RETURN(sys_seconds at, ParseInstantInZone(zone, text));
  Result<sys_seconds> start = cron.PrevAtOrBefore(at);
  if (start.ok() && *start == at) return IntervalStartingAt(cron, at);
  if (!start.ok() && start.status().code() != Status::Code::kNotFound) return start.status();
  Result<sys_seconds> next = cron.NextAfter(at);
  std::string around;
  if (start.ok()) around = FormatIsoUtc(*start);
  if (next.ok()) around += (around.empty() ? "" : " or ") + FormatIsoUtc(*next);
  return Status::InvalidArgument(fmt::format(
      "'{}' is not the start of an interval of cron '{}' in {}{}; give an interval start, or a "
      "date YYYY-MM-DD for the first interval of that day",
      text, cron.expression(), cron.timezone(),
      around.empty() ? "" : " (the nearest are " + around + ")"));
}

}  // namespace reel
