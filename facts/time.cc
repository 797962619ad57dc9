#include "facts/time.h"

#include <charconv>

#include <date/date.h>
#include <fmt/format.h>

namespace reel {
namespace {

// Reads exactly `n` digits at s[*pos]; advances *pos.
bool Digits(std::string_view s, size_t* pos, int n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool CivilDay(int y, int m, int d, std::int32_t* day) {
  date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(m)},
                           date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return false;
  *day = static_cast<std::int32_t>(date::sys_days{ymd}.time_since_epoch().count());
  return true;
}

bool ParseDatePrefix(std::string_view s, size_t* pos, std::int32_t* day) {
  int y, m, d;
  if (!Digits(s, pos, 4, &y) || *pos >= s.size() || s[*pos] != '-') return false;
  ++*pos;
  if (!Digits(s, pos, 2, &m) || *pos >= s.size() || s[*pos] != '-') return false;
  ++*pos;
  if (!Digits(s, pos, 2, &d)) return false;
  return CivilDay(y, m, d, day);
}

}  // namespace

const char* TimestampFormatName(TimestampFormat format) {
  switch (format) {
    case TimestampFormat::kEpochSeconds:
      return "epoch_s";
    case TimestampFormat::kEpochMillis:
      return "epoch_ms";
    case TimestampFormat::kIso8601:
      return "iso8601";
  }
  return "?";
}

Result<TimestampFormat> ParseTimestampFormat(std::string_view name) {
  if (name == "epoch_s") return TimestampFormat::kEpochSeconds;
  if (name == "epoch_ms") return TimestampFormat::kEpochMillis;
  if (name == "iso8601") return TimestampFormat::kIso8601;
  return Status::InvalidArgument(
      fmt::format("unknown timestamp format '{}': use epoch_s, epoch_ms or iso8601", name));
}

bool ParseDayString(std::string_view s, std::int32_t* day) {
  size_t pos = 0;
  return ParseDatePrefix(s, &pos, day) && pos == s.size();
}

Result<std::int32_t> ParseDay(std::string_view s) {
  std::int32_t day;
  if (!ParseDayString(s, &day)) {
    return Status::InvalidArgument(
        fmt::format("'{}' is not a date: expected YYYY-MM-DD, e.g. 2024-03-01", s));
  }
  return day;
}

std::string FormatDay(std::int32_t day) {
  date::year_month_day ymd{date::sys_days{date::days{day}}};
  return fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

bool ParseIso8601Ms(std::string_view s, std::int64_t* ms) {
  size_t pos = 0;
  std::int32_t day;
  if (!ParseDatePrefix(s, &pos, &day)) return false;
  std::int64_t total = DayStartMs(day);
  if (pos == s.size()) {
    *ms = total;
    return true;
  }
  if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return false;
  ++pos;
  int hh, mm, ss = 0, frac_ms = 0;
  if (!Digits(s, &pos, 2, &hh) || pos >= s.size() || s[pos] != ':') return false;
  ++pos;
  if (!Digits(s, &pos, 2, &mm)) return false;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    if (!Digits(s, &pos, 2, &ss)) return false;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      int n = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (n < 3) frac_ms = frac_ms * 10 + (s[pos] - '0');
        ++n;
        ++pos;
      }
      if (n == 0) return false;
      for (int i = n; i < 3; ++i) frac_ms *= 10;
    }
  }
  if (hh > 23 || mm > 59 || ss > 60) return false;  // 60: a leap second, folded below
  total += (std::int64_t{hh} * 3600 + mm * 60 + ss) * 1000 + frac_ms;
  if (pos < s.size()) {
    char c = s[pos];
    if (c == 'Z' || c == 'z') {
      ++pos;
    } else if (c == '+' || c == '-') {
      ++pos;
      int oh, om = 0;
      if (!Digits(s, &pos, 2, &oh)) return false;
      if (pos < s.size() && s[pos] == ':') ++pos;
      if (pos < s.size() && !Digits(s, &pos, 2, &om)) return false;
      if (oh > 23 || om > 59) return false;
      std::int64_t offset = (std::int64_t{oh} * 60 + om) * 60'000;
      total += (c == '+') ? -offset : offset;
    } else {
      return false;
    }
  }
  if (pos != s.size()) return false;
  *ms = total;
  return true;
}

bool ParseTimestampMs(std::string_view s, TimestampFormat format, std::int64_t* ms) {
  if (format == TimestampFormat::kIso8601) return ParseIso8601Ms(s, ms);
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  std::int64_t whole = 0;
  auto [p, ec] = std::from_chars(begin, end, whole);
  if (ec != std::errc() || p == begin) return false;
  if (format == TimestampFormat::kEpochMillis) {
    if (p != end) return false;
    *ms = whole;
    return true;
  }
  if (p == end) {
    if (whole > INT64_MAX / 1000 || whole < INT64_MIN / 1000) return false;
    *ms = whole * 1000;
    return true;
  }
  double seconds = 0;
  auto [q, ec2] = std::from_chars(begin, end, seconds);
  if (ec2 != std::errc() || q != end) return false;
  *ms = static_cast<std::int64_t>(seconds * 1000.0 + (seconds < 0 ? -0.5 : 0.5));
  return true;
}

Result<FactTime> ParseInstant(std::string_view s) {
  std::int64_t ms;
  if (!ParseIso8601Ms(s, &ms)) {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not a date or time: expected YYYY-MM-DD (00:00 UTC) or ISO-8601 such as "
        "2024-03-01T12:00:00Z",
        s));
  }
  return FactTime{std::chrono::milliseconds{ms}};
}

std::string FormatIso8601Ms(std::int64_t ms) {
  std::int32_t day = DayOfMs(ms);
  std::int64_t in_day = ms - DayStartMs(day);
  int h = static_cast<int>(in_day / 3'600'000);
  int m = static_cast<int>(in_day / 60'000 % 60);
  int s = static_cast<int>(in_day / 1000 % 60);
  int milli = static_cast<int>(in_day % 1000);
  if (milli == 0) return fmt::format("{}T{:02d}:{:02d}:{:02d}Z", FormatDay(day), h, m, s);
  return fmt::format("{}T{:02d}:{:02d}:{:02d}.{:03d}Z", FormatDay(day), h, m, s, milli);
}

}  // namespace reel
