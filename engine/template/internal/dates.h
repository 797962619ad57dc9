// Date helpers behind ds_add, ds_format and date_diff. Internal to the templating engine.
//
// Dates are calendar dates (proleptic Gregorian, years 0000-9999) written "YYYY-MM-DD". A full
// ISO-8601 timestamp ("2026-11-29T03:00:00Z", also with ' ' for 'T', fractional seconds and an
// offset) is accepted wherever a date is; its date part is used as written, and the offset is
// never applied, so the date of "2026-11-29T23:00:00-05:00" is 2026-11-29.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "reel/status.h"

namespace reel::template_internal {

struct CivilTime {
  std::chrono::sys_days day;
  std::chrono::seconds time_of_day{0};  // 0 for a bare date
};

// Errors name `who` (the function) and show the expected form.
Result<CivilTime> ParseCivilTime(std::string_view text, std::string_view who);
// "YYYY-MM-DD"; an error when the year leaves 0000-9999.
Result<std::string> FormatDs(std::chrono::sys_days day, std::string_view who);
// strftime-style formatting restricted to the specifiers listed in docs/templating.md.
Result<std::string> FormatCivilTime(const CivilTime& time, std::string_view format);

Result<std::string> DsAdd(std::string_view date, int64_t days);
Result<int64_t> DateDiff(std::string_view a, std::string_view b);  // days from b to a: a - b

}  // namespace reel::template_internal
