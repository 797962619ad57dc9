#include "engine/template/internal/dates.h"

#include <sstream>

#include <date/date.h>

namespace reel::template_internal {
namespace {

using std::chrono::seconds;
using std::chrono::sys_days;

constexpr std::string_view kExpectedForm =
    "expected a date 'YYYY-MM-DD' or a timestamp 'YYYY-MM-DDTHH:MM:SS[Z]'";

bool Digits(std::string_view s, size_t pos, size_t count, int* value) {
  if (pos + count > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *value = v;
  return true;
}

// Accepts what follows the date: [T| ]HH:MM[:SS[.fff]][Z|z|+HH:MM|-HH:MM|+HHMM].
bool ParseTime(std::string_view s, seconds* out) {
  int h = 0, m = 0, sec = 0;
  if (!Digits(s, 0, 2, &h) || s.size() < 5 || s[2] != ':' || !Digits(s, 3, 2, &m)) return false;
  size_t pos = 5;
  if (pos < s.size() && s[pos] == ':') {
    if (!Digits(s, pos + 1, 2, &sec)) return false;
    pos += 3;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      size_t digits = 0;
      for (++pos; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos) ++digits;
      if (digits == 0) return false;
    }
  }
  if (h > 23 || m > 59 || sec > 60) return false;
  if (pos < s.size()) {
    char z = s[pos];
    if (z == 'Z' || z == 'z') {
      ++pos;
    } else if (z == '+' || z == '-') {
      int oh = 0, om = 0;
      if (!Digits(s, pos + 1, 2, &oh)) return false;
      pos += 3;
      if (pos < s.size() && s[pos] == ':') ++pos;
      if (!Digits(s, pos, 2, &om)) return false;
      pos += 2;
      if (oh > 23 || om > 59) return false;
    }
  }
  if (pos != s.size()) return false;
  *out = std::chrono::hours(h) + std::chrono::minutes(m) + seconds(std::min(sec, 59));
  return true;
}

}  // namespace

Result<CivilTime> ParseCivilTime(std::string_view text, std::string_view who) {
  auto bad = [&](std::string_view why) {
    std::string shown(text.substr(0, 40));
    return Status::InvalidArgument(std::string(who) + ": '" + shown + "' " + std::string(why) +
                                   "; " + std::string(kExpectedForm));
  };
  int y = 0, m = 0, d = 0;
  if (text.size() < 10 || !Digits(text, 0, 4, &y) || text[4] != '-' || !Digits(text, 5, 2, &m) ||
      text[7] != '-' || !Digits(text, 8, 2, &d)) {
    return bad("is not a date");
  }
  date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(m)},
                           date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return bad("is not a calendar date");
  CivilTime out{sys_days(std::chrono::days(date::sys_days(ymd).time_since_epoch().count())),
                seconds(0)};
  if (text.size() > 10) {
    if ((text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
        !ParseTime(text.substr(11), &out.time_of_day)) {
      return bad("is not a date or timestamp");
    }
  }
  return out;
}

Result<std::string> FormatDs(sys_days day, std::string_view who) {
  date::year_month_day ymd{date::sys_days(date::days(day.time_since_epoch().count()))};
  int y = static_cast<int>(ymd.year());
  if (y < 0 || y > 9999) {
    return Status::InvalidArgument(std::string(who) +
                                   ": the result lies outside the years 0000-9999");
  }
  return date::format("%Y-%m-%d", ymd);
}

Result<std::string> FormatCivilTime(const CivilTime& time, std::string_view format) {
  static constexpr std::string_view kAllowed = "YmdHMSyjbBaAuwUWVGFTeIp%";
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') continue;
    if (i + 1 >= format.size()) {
      return Status::InvalidArgument(
          "ds_format: the format ends with a lone '%'; write '%%' "
          "for a literal percent sign");
    }
    char spec = format[i + 1];
    if (kAllowed.find(spec) == std::string_view::npos) {
      return Status::InvalidArgument(
          std::string("ds_format: unsupported specifier '%") + spec +
          "'; supported: %Y %m %d %H %M %S %y %j %b %B %a %A %u %w %U %W %V %G %F %T %e %I %p %%");
    }
    ++i;
  }
  std::ostringstream out;
  out.imbue(std::locale::classic());
  date::to_stream(out, std::string(format).c_str(),
                  date::sys_seconds(std::chrono::seconds(
                      time.day.time_since_epoch().count() * 86400 + time.time_of_day.count())));
  return out.str();
}

Result<std::string> DsAdd(std::string_view date, int64_t days) {
  REEL_ASSIGN_OR_RETURN(auto parsed, ParseCivilTime(date, "ds_add"));
  // Years stay within 0000-9999, so anything beyond ~3.7 million days is out of range anyway;
  // clamping first keeps the addition itself from overflowing.
  constexpr int64_t kLimit = 10'000'000;
  if (days > kLimit || days < -kLimit) {
    return Status::InvalidArgument("ds_add: the result lies outside the years 0000-9999");
  }
  return FormatDs(parsed.day + std::chrono::days(days), "ds_add");
}

Result<int64_t> DateDiff(std::string_view a, std::string_view b) {
  REEL_ASSIGN_OR_RETURN(auto first, ParseCivilTime(a, "date_diff"));
  REEL_ASSIGN_OR_RETURN(auto second, ParseCivilTime(b, "date_diff"));
  return static_cast<int64_t>((first.day - second.day).count());
}

}  // namespace reel::template_internal
