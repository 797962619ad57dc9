// Parsing of cron expressions into per-field bit sets.
#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "engine/time/cron.h"

namespace reel {
namespace {

struct FieldSpec {
  const char* name;
  int min;
  int max;                   // day-of-week allows 7 (Sunday) and folds it to 0
  const char* const* names;  // names[i] has value min + i; nullptr when the field has none
  int name_count;
  const char* names_hint;  // "a month name (JAN-DEC)"
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

constexpr FieldSpec kFields[5] = {
    {"minute", 0, 59, nullptr, 0, nullptr},
    {"hour", 0, 23, nullptr, 0, nullptr},
    {"day-of-month", 1, 31, nullptr, 0, nullptr},
    {"month", 1, 12, kMonthNames, 12, "a month name (JAN-DEC)"},
    {"day-of-week", 0, 7, kDayNames, 7, "a day name (SUN-SAT)"},
};

struct Macro {
  const char* name;
  const char* expansion;
};
constexpr Macro kMacros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

// Days in each month in a leap year: a day-of-month can occur in month m iff it is <= this.
constexpr int kMaxDaysInMonth[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

std::vector<std::string_view> SplitFields(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::optional<int> ParseNumber(std::string_view s) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  int value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

}  // namespace

// Builds a CronSchedule field by field; the first error wins.
class CronParser {
 public:
  CronParser(std::string_view expression, CronError* error)
      : expression_(expression), error_(error) {}

  Result<CronSchedule> Parse(std::string_view timezone) {
    CronSchedule schedule;
    schedule.expression_ = std::string(expression_);

    std::string_view text = expression_;
    std::string expanded;
    std::vector<std::string_view> fields = SplitFields(text);
    if (fields.size() == 1 && fields[0].front() == '@') {
      const std::string macro = Lower(fields[0]);
      for (const Macro& m : kMacros) {
        if (macro == m.name) expanded = m.expansion;
      }
      if (expanded.empty()) {
        return Fail("", std::string(fields[0]),
                    fmt::format("'{}' is not a known macro; use @yearly, @annually, @monthly, "
                                "@weekly, @daily, @midnight or @hourly",
                                fields[0]));
      }
      fields = SplitFields(expanded);
    }
    if (fields.size() != 5) {
      return Fail("", std::string(expression_),
                  fields.empty() ? std::string("the expression is empty; expected 5 fields "
                                               "(minute hour day-of-month month day-of-week)")
                                 : fmt::format("expected 5 fields (minute hour day-of-month "
                                               "month day-of-week) but found {}",
                                               fields.size()));
    }

    uint64_t bits[5] = {};
    for (int f = 0; f < 5; ++f) {
      Status s = ParseField(kFields[f], fields[f], &bits[f]);
      if (!s.ok()) return s;
    }
    schedule.minutes_ = bits[0];
    schedule.hours_ = static_cast<uint32_t>(bits[1]);
    schedule.days_of_month_ = static_cast<uint32_t>(bits[2]);
    schedule.months_ = static_cast<uint32_t>(bits[3]);
    uint64_t dow = bits[4];
    if (dow & (1u << 7)) dow = (dow | 1u) & ~(uint64_t{1} << 7);  // 7 is Sunday
    schedule.days_of_week_ = static_cast<uint32_t>(dow);
    schedule.day_of_month_restricted_ = fields[2].front() != '*';
    schedule.day_of_week_restricted_ = fields[4].front() != '*';

    // With day-of-week unrestricted, only day-of-month picks days: some allowed day must
    // exist in some allowed month, or the schedule never fires ("0 0 30 2 *"). Any valid
    // month/day falls on every weekday within a 400-year cycle, so every other expression
    // fires.
    if (schedule.day_of_month_restricted_ && !schedule.day_of_week_restricted_) {
      bool possible = false;
      for (int m = 1; m <= 12 && !possible; ++m) {
        if (!schedule.MatchesMonth(m)) continue;
        for (int d = 1; d <= kMaxDaysInMonth[m] && !possible; ++d) {
          possible = (schedule.days_of_month_ >> d) & 1;
        }
      }
      if (!possible) {
        return Fail("day-of-month", std::string(fields[2]),
                    fmt::format("'{}' never occurs in month '{}', so the schedule would never "
                                "fire",
                                fields[2], fields[3]));
      }
    }

    Result<TimeZone> zone = TimeZone::Locate(timezone);
    if (!zone.ok()) {
      if (error_) *error_ = {"timezone", std::string(timezone), zone.status().message()};
      return zone.status();
    }
    schedule.zone_ = *zone;
    return schedule;
  }

 private:
  Status Fail(const std::string& field, const std::string& token, const std::string& detail) {
    std::string message = "invalid cron expression '" + std::string(expression_) + "': ";
    if (!field.empty()) message += field + ": ";
    message += detail;
    if (error_) *error_ = {field, token, message};
    return Status::InvalidArgument(message);
  }

  // Parses one value: a number or (month, day-of-week) a name.
  Status ParseValue(const FieldSpec& spec, std::string_view token, int* out) {
    if (std::optional<int> n = ParseNumber(token)) {
      if (*n < spec.min || *n > spec.max) {
        return Fail(spec.name, std::string(token),
                    fmt::format("'{}' is out of range {}-{}", token, spec.min, spec.max));
      }
      *out = *n;
      return Status::Ok();
    }
    if (spec.names) {
      const std::string upper = Upper(token);
      for (int i = 0; i < spec.name_count; ++i) {
        if (upper == spec.names[i]) {
          *out = spec.min + i;
          return Status::Ok();
        }
      }
      return Fail(spec.name, std::string(token),
                  fmt::format("'{}' is not {} or a number {}-{}", token, spec.names_hint, spec.min,
                              spec.max));
    }
    return Fail(spec.name, std::string(token),
                fmt::format("'{}' is not a number {}-{}", token, spec.min, spec.max));
  }

  Status ParseItem(const FieldSpec& spec, std::string_view item, uint64_t* bits) {
    std::string_view base = item;
    int step = 1;
    bool has_step = false;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      std::string_view step_text = item.substr(slash + 1);
      std::optional<int> n = ParseNumber(step_text);
      const int max_step = spec.max - spec.min + (spec.max == 7 ? 0 : 1);
      if (!n || *n < 1 || *n > max_step) {
        return Fail(
            spec.name, std::string(item),
            fmt::format("'{}' has step '{}'; use a step from 1 to {}", item, step_text, max_step));
      }
      step = *n;
      has_step = true;
    }
    int low = 0;
    int high = 0;
    if (base == "*") {
      low = spec.min;
      high = spec.max == 7 ? 6 : spec.max;  // '*' in day-of-week is 0-6: 7 repeats Sunday
    } else if (size_t dash = base.find('-'); dash != std::string_view::npos) {
      REEL_RETURN_IF_ERROR(ParseValue(spec, base.substr(0, dash), &low));
      REEL_RETURN_IF_ERROR(ParseValue(spec, base.substr(dash + 1), &high));
      if (low > high) {
        return Fail(spec.name, std::string(base),
                    fmt::format("'{}' is a reversed range; write the smaller value first", base));
      }
    } else {
      if (base.empty()) {
        return Fail(spec.name, std::string(item),
                    fmt::format("'{}' has no value before the step", item));
      }
      REEL_RETURN_IF_ERROR(ParseValue(spec, base, &low));
      // "5/10" means 5-max/10.
      high = has_step ? std::max(low, spec.max == 7 ? 6 : spec.max) : low;
    }
    for (int v = low; v <= high; v += step) *bits |= uint64_t{1} << v;
    return Status::Ok();
  }

  Status ParseField(const FieldSpec& spec, std::string_view text, uint64_t* bits) {
    size_t start = 0;
    while (true) {
      size_t comma = text.find(',', start);
      std::string_view item = text.substr(
          start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      if (item.empty()) {
        return Fail(spec.name, std::string(text), fmt::format("'{}' has an empty list item", text));
      }
      REEL_RETURN_IF_ERROR(ParseItem(spec, item, bits));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    return Status::Ok();
  }

  std::string_view expression_;
  CronError* error_;
};

Result<CronSchedule> CronSchedule::Parse(std::string_view expression, std::string_view timezone,
                                         CronError* error) {
  return CronParser(expression, error).Parse(timezone);
}

}  // namespace reel
