// Calendar days and instants as the fact store sees them: everything is UTC.
//
// A day is an int32 count of days since 1970-01-01 (negative before); an instant is an int64
// count of milliseconds since the Unix epoch. Parsers are allocation-free on success so that
// they can run once per source row; the Result-returning wrappers build a message on failure.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "reel/status.h"

namespace reel {

using FactTime = std::chrono::sys_time<std::chrono::milliseconds>;

inline constexpr std::int64_t kMsPerDay = 86'400'000;

// How a source writes its timestamps.
enum class TimestampFormat { kEpochSeconds, kEpochMillis, kIso8601 };
const char* TimestampFormatName(TimestampFormat format);  // "epoch_s", "epoch_ms", "iso8601"
Result<TimestampFormat> ParseTimestampFormat(std::string_view name);

// "YYYY-MM-DD" (a real calendar date) -> days since epoch.
bool ParseDayString(std::string_view s, std::int32_t* day);
Result<std::int32_t> ParseDay(std::string_view s);
std::string FormatDay(std::int32_t day);

// ISO-8601: "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff...]]" with 'T' or ' ' between date and
// time, then "Z", "+HH:MM", "+HHMM", "+HH" (or '-') or nothing; nothing means UTC.
// Fractions beyond milliseconds are truncated.
bool ParseIso8601Ms(std::string_view s, std::int64_t* ms);
// An integer (optionally with a fraction for epoch_s: "1700000000.25") in the given unit.
bool ParseTimestampMs(std::string_view s, TimestampFormat format, std::int64_t* ms);
Result<FactTime> ParseInstant(std::string_view s);  // ISO-8601, or a bare date (00:00 UTC)

// "2024-01-05T18:22:05Z", or "...05.250Z" when the milliseconds are not zero.
std::string FormatIso8601Ms(std::int64_t ms);

// The UTC day an instant falls on (floor division, correct before 1970).
inline std::int32_t DayOfMs(std::int64_t ms) {
  std::int64_t d = ms / kMsPerDay;
  if (ms % kMsPerDay < 0) --d;
  return static_cast<std::int32_t>(d);
}
inline std::int64_t DayStartMs(std::int32_t day) { return std::int64_t{day} * kMsPerDay; }

}  // namespace reel
