#include "engine/time/posix_tz.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <iterator>

#include <date/date.h>

#include "engine/base/text_cursor.h"

namespace reel {
namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

class Reader : public TextCursor {
 public:
  using TextCursor::TextCursor;
  // A zone abbreviation: three or more letters, or <...>.
  bool Name() {
    if (Take('<')) {
      const size_t close = s_.find('>', i_);
      if (close == std::string_view::npos || close == i_) return false;
      i_ = close + 1;
      return true;
    }
    size_t start = i_;
    while (!done() && std::isalpha(static_cast<unsigned char>(peek()))) ++i_;
    return i_ - start >= 3;
  }
  // [+-]h[hh][:mm[:ss]]
  std::optional<seconds> Duration() {
    int sign = 1;
    if (Take('-'))
      sign = -1;
    else
      Take('+');
    std::optional<int> h = Number(3);
    if (!h || *h > 167) return std::nullopt;
    int m = 0;
    int s = 0;
    if (Take(':')) {
      std::optional<int> mm = Number(2);
      if (!mm || *mm > 59) return std::nullopt;
      m = *mm;
      if (Take(':')) {
        std::optional<int> ss = Number(2);
        if (!ss || *ss > 59) return std::nullopt;
        s = *ss;
      }
    }
    return seconds{sign * (*h * 3600 + m * 60 + s)};
  }
};

std::optional<PosixTzRule::Transition> ParseTransition(Reader& in) {
  using Kind = PosixTzRule::Transition::Kind;
  PosixTzRule::Transition t;
  if (in.Take('M')) {
    std::optional<int> month = in.Number(2);
    if (!month || *month < 1 || *month > 12 || !in.Take('.')) return std::nullopt;
    std::optional<int> week = in.Number(1);
    if (!week || *week < 1 || *week > 5 || !in.Take('.')) return std::nullopt;
    std::optional<int> day = in.Number(1);
    if (!day || *day > 6) return std::nullopt;
    t.kind = Kind::kMonthWeekDay;
    t.month = *month;
    t.week = *week;
    t.day = *day;
  } else if (in.Take('J')) {
    std::optional<int> day = in.Number(3);
    if (!day || *day < 1 || *day > 365) return std::nullopt;
    t.kind = Kind::kJulianNoLeap;
    t.day = *day;
  } else {
    std::optional<int> day = in.Number(3);
    if (!day || *day > 365) return std::nullopt;
    t.kind = Kind::kZeroBasedDay;
    t.day = *day;
  }
  if (in.Take('/')) {
    std::optional<seconds> time = in.Duration();
    if (!time) return std::nullopt;
    t.time = *time;
  }
  return t;
}

date::sys_days DayOf(const PosixTzRule::Transition& t, int year) {
  using Kind = PosixTzRule::Transition::Kind;
  const date::year y{year};
  switch (t.kind) {
    case Kind::kJulianNoLeap: {
      // Day 1-365, February 29 never counted.
      const int extra = (y.is_leap() && t.day >= 60) ? 1 : 0;
      return date::sys_days{y / 1 / 1} + date::days{t.day - 1 + extra};
    }
    case Kind::kZeroBasedDay:
      return date::sys_days{y / 1 / 1} + date::days{t.day};
    case Kind::kMonthWeekDay:
    default: {
      const date::month m{unsigned(t.month)};
      const date::weekday wd{unsigned(t.day)};
      if (t.week == 5) return date::sys_days{y / m / wd[date::last]};
      return date::sys_days{y / m / wd[unsigned(t.week)]};
    }
  }
}

}  // namespace

std::optional<PosixTzRule> PosixTzRule::Parse(std::string_view text) {
  Reader in(text);
  PosixTzRule rule;
  if (!in.Name()) return std::nullopt;
  std::optional<seconds> std_offset = in.Duration();
  if (!std_offset) return std::nullopt;
  rule.std_offset_ = -*std_offset;
  if (in.done()) return rule;
  if (!in.Name()) return std::nullopt;
  rule.has_dst_ = true;
  rule.dst_offset_ = rule.std_offset_ + std::chrono::hours{1};
  if (!in.done() && in.peek() != ',') {
    std::optional<seconds> dst_offset = in.Duration();
    if (!dst_offset) return std::nullopt;
    rule.dst_offset_ = -*dst_offset;
  }
  if (in.done()) {
    // No rule given: POSIX leaves it to the implementation; use the US rule, as glibc does.
    rule.start_ = {Transition::Kind::kMonthWeekDay, 3, 2, 0, seconds{7200}};
    rule.end_ = {Transition::Kind::kMonthWeekDay, 11, 1, 0, seconds{7200}};
    return rule;
  }
  if (!in.Take(',')) return std::nullopt;
  std::optional<Transition> start = ParseTransition(in);
  if (!start || !in.Take(',')) return std::nullopt;
  std::optional<Transition> end = ParseTransition(in);
  if (!end || !in.done()) return std::nullopt;
  rule.start_ = *start;
  rule.end_ = *end;
  return rule;
}

std::optional<PosixTzRule> PosixTzRule::FromTzifFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  const std::string data((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  // Version 2+ files end with "\n<TZ string>\n".
  if (data.size() < 2 || data.compare(0, 4, "TZif") != 0 || data.back() != '\n') {
    return std::nullopt;
  }
  const size_t open = data.rfind('\n', data.size() - 2);
  if (open == std::string::npos) return std::nullopt;
  return Parse(std::string_view(data).substr(open + 1, data.size() - open - 2));
}

ZonePeriod PosixTzRule::PeriodAt(sys_seconds t) const {
  if (!has_dst_) return {sys_seconds::min(), sys_seconds::max(), std_offset_};
  struct Change {
    sys_seconds at;
    seconds offset_after;
  };
  const int year = int(date::year_month_day{date::floor<date::days>(t)}.year());
  std::array<Change, 6> changes;
  for (int k = 0; k < 3; ++k) {
    const int y = year - 1 + k;
    // Daylight time starts at a wall time in standard time and ends at one in daylight time.
    changes[2 * k] = {sys_seconds{DayOf(start_, y)} + start_.time - std_offset_, dst_offset_};
    changes[2 * k + 1] = {sys_seconds{DayOf(end_, y)} + end_.time - dst_offset_, std_offset_};
  }
  // On a tie (a rule for daylight time all year) daylight time wins.
  std::stable_sort(changes.begin(), changes.end(), [&](const Change& a, const Change& b) {
    if (a.at != b.at) return a.at < b.at;
    return a.offset_after == std_offset_ && b.offset_after != std_offset_;
  });
  size_t i = 0;
  while (i + 1 < changes.size() && changes[i + 1].at <= t) ++i;
  const sys_seconds end = i + 1 < changes.size() ? changes[i + 1].at : sys_seconds::max();
  return {changes[i].at, end, changes[i].offset_after};
}

}  // namespace reel
