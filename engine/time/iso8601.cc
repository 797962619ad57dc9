// ISO-8601 instants: the one textual form of time on the command line and in output.
#include <optional>

#include <fmt/format.h>

#include "engine/base/text_cursor.h"
#include "engine/time/cron.h"

namespace reel {
namespace {

using std::chrono::sys_seconds;

}  // namespace

std::string FormatIsoUtc(sys_seconds t) { return date::format("%FT%TZ", t); }

Result<sys_seconds> ParseIsoInstant(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(
        fmt::format("'{}' is not an ISO-8601 instant ({}); use YYYY-MM-DD, or "
                    "YYYY-MM-DDTHH:MM:SS followed by Z or an offset such as +01:00",
                    text, why));
  };
  TextCursor in(text);
  const std::optional<int> year = in.Digits(4);
  std::optional<int> month;
  std::optional<int> day;
  if (year && in.Take('-')) month = in.Digits(2);
  if (month && in.Take('-')) day = in.Digits(2);
  if (!day) return bad("expected a date YYYY-MM-DD");
  const date::year_month_day ymd{date::year{*year}, date::month{unsigned(*month)},
                                 date::day{unsigned(*day)}};
  if (!ymd.ok()) return bad("no such date");
  sys_seconds t{date::sys_days{ymd}};
  if (in.done()) return t;

  if (!in.Take('T') && !in.Take('t') && !in.Take(' ')) return bad("expected 'T' after the date");
  const std::optional<int> hour = in.Digits(2);
  std::optional<int> minute;
  if (hour && in.Take(':')) minute = in.Digits(2);
  if (!minute) return bad("expected a time HH:MM[:SS]");
  int second = 0;
  if (in.Take(':')) {
    const std::optional<int> s = in.Digits(2);
    if (!s) return bad("expected seconds after HH:MM:");
    second = *s;
    if (in.Take('.') || in.Take(',')) {
      if (!in.Digits(1)) return bad("expected digits after the decimal point");
      in.SkipDigits();  // sub-second precision is dropped: instants are whole seconds
    }
  }
  if (*hour > 23 || *minute > 59 || second > 59) return bad("time out of range");
  t += std::chrono::hours{*hour} + std::chrono::minutes{*minute} + std::chrono::seconds{second};

  if (in.done() || in.Take('Z') || in.Take('z')) {
    if (!in.done()) return bad("unexpected text after the time");
    return t;
  }
  int sign = 0;
  if (in.Take('+'))
    sign = 1;
  else if (in.Take('-'))
    sign = -1;
  if (sign == 0) return bad("expected Z or an offset such as +01:00 after the time");
  const std::optional<int> offset_hours = in.Digits(2);
  if (!offset_hours) return bad("expected an offset such as +01:00");
  in.Take(':');
  const std::optional<int> offset_minutes = in.done() ? std::optional<int>(0) : in.Digits(2);
  if (!offset_minutes || !in.done()) return bad("expected an offset such as +01:00");
  if (*offset_hours > 23 || *offset_minutes > 59) return bad("offset out of range");
  // 09:00+01:00 is 08:00Z.
  t -= sign * (std::chrono::hours{*offset_hours} + std::chrono::minutes{*offset_minutes});
  return t;
}

}  // namespace reel
