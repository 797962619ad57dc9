#include "engine/time/time_zone.h"

#include <exception>
#include <map>
#include <mutex>

namespace reel {
namespace {

using std::chrono::seconds;
using std::chrono::sys_seconds;

// Where Debian's date/tz (built with USE_OS_TZDB) reads zones from.
constexpr const char* kZoneInfoDir = "/usr/share/zoneinfo/";

// tz database periods that run to the end of time end at this sentinel or later.
const sys_seconds kOpenEnded = date::sys_days{date::year{10000} / 1 / 1};

// The rule past the last listed transition of `zone`, read once per zone and process.
std::shared_ptr<const PosixTzRule> TailRule(const date::time_zone* zone) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const PosixTzRule>> cache;  // guarded by mu
  std::lock_guard lock(mu);
  auto it = cache.find(zone->name());
  if (it != cache.end()) return it->second;
  std::shared_ptr<const PosixTzRule> rule;
  if (std::optional<PosixTzRule> parsed = PosixTzRule::FromTzifFile(kZoneInfoDir + zone->name());
      parsed && parsed->has_dst()) {
    rule = std::make_shared<const PosixTzRule>(*parsed);
  }
  cache.emplace(zone->name(), rule);
  return rule;
}

}  // namespace

Result<TimeZone> TimeZone::Locate(std::string_view name) {
  const std::string hint = "use an IANA name such as UTC, Europe/London or America/New_York";
  if (name.empty()) return Status::InvalidArgument("empty time zone name; " + hint);
  try {
    const date::time_zone* zone = date::locate_zone(name);
    return TimeZone(zone, std::string(name), TailRule(zone));
  } catch (const std::exception& e) {
    // locate_zone throws for unknown names and when the OS tzdata cannot be read; tell the
    // two apart so a broken installation is not reported as a typo.
    try {
      (void)date::get_tzdb();
    } catch (const std::exception& db_error) {
      return Status::IoError(std::string("cannot read the time zone database "
                                         "(/usr/share/zoneinfo, package tzdata): ") +
                             db_error.what());
    }
    return Status::InvalidArgument("unknown time zone '" + std::string(name) + "'; " + hint);
  }
}

TimeZone TimeZone::Utc() {
  static const date::time_zone* utc = date::locate_zone("UTC");
  return TimeZone(utc, "UTC", nullptr);
}

ZonePeriod TimeZone::PeriodAt(sys_seconds t) const {
  const date::sys_info info = zone_->get_info(t);
  if (tail_ && info.end >= kOpenEnded) {
    ZonePeriod period = tail_->PeriodAt(t);
    period.begin = std::max(period.begin, info.begin);
    return period;
  }
  return {info.begin, info.end, info.offset};
}

date::local_seconds TimeZone::ToLocal(sys_seconds t) const {
  return date::local_seconds{t.time_since_epoch() + PeriodAt(t).offset};
}

sys_seconds TimeZone::LocalToUtc(date::local_seconds local) const {
  // Try every period near `local` (offsets stay within a day of UTC): the first whose
  // offset maps `local` inside itself is the earliest occurrence. If none does, `local`
  // lies in a gap, which ends where the period after it begins.
  const sys_seconds as_utc{local.time_since_epoch()};
  // Fast path: far (a day or more) from any transition the mapping is unique.
  const ZonePeriod here = PeriodAt(as_utc);
  const sys_seconds guess = as_utc - here.offset;
  if (guess - here.begin >= date::days{1} && here.end - guess >= date::days{1}) return guess;

  const sys_seconds last = as_utc + date::days{1};
  ZonePeriod period = PeriodAt(as_utc - date::days{1});
  bool after_previous = false;  // `local` maps past the end of the previous period
  while (true) {
    const sys_seconds candidate = as_utc - period.offset;
    if (candidate >= period.begin && candidate < period.end) return candidate;
    if (after_previous && candidate < period.begin) return period.begin;
    after_previous = candidate >= period.end;
    if (period.end >= last || period.end == sys_seconds::max()) break;
    period = PeriodAt(period.end);
  }
  return as_utc - PeriodAt(as_utc).offset;  // unreachable for well-formed zones
}

date::local_seconds TimeZone::LatestLocalAtOrBefore(sys_seconds t) const {
  const ZonePeriod period = PeriodAt(t);
  const date::local_seconds local{t.time_since_epoch() + period.offset};
  if (period.begin <= sys_seconds::min() + date::days{2}) return local;
  const ZonePeriod previous = PeriodAt(period.begin - seconds{1});
  const seconds fallback = previous.offset - period.offset;
  if (fallback > seconds{0} && t < period.begin + fallback) {
    // `t` lies in the second pass through the overlap: every repeated local time up to
    // the end of the previous period already mapped to its first occurrence, before t.
    return date::local_seconds{period.begin.time_since_epoch() + previous.offset - seconds{1}};
  }
  return local;
}

date::year_month_day TimeZone::LocalDate(sys_seconds t) const {
  return date::year_month_day{date::floor<date::days>(ToLocal(t))};
}

sys_seconds TimeZone::StartOfDay(date::year_month_day day) const {
  return LocalToUtc(date::local_seconds{date::local_days{day}});
}

}  // namespace reel
