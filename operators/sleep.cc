#include "operators/sleep.h"

#include <fmt/format.h>

namespace reel {

OperatorInfo SleepOperator::Info() {
  OperatorInfo info;
  info.name = "sleep";
  info.description = "Waits the given number of seconds; stops at once when cancelled.";
  info.config = {
      {"seconds", ConfigType::kFloat, true, nullptr, "how long to wait, in seconds (>= 0)"},
  };
  info.example = "wait:\n  operator: sleep\n  with: {seconds: 2.5}\n";
  info.declares_outputs = true;
  return info;
}

Status SleepOperator::Execute(Context& ctx) {
  double seconds = ctx.config().at("seconds").get<double>();
  // Longer than any clock can count to would overflow into no wait at all.
  constexpr double kMaxSeconds = 100.0 * 365 * 86400;
  if (!(seconds >= 0 && seconds <= kMaxSeconds)) {
    return Status::InvalidArgument(fmt::format(
        "sleep: seconds must be between 0 and {:.0f} (100 years), got {:g}", kMaxSeconds, seconds));
  }
  auto d = std::chrono::duration<double>(seconds);
  if (ctx.cancellation().WaitFor(d)) return Status::Cancelled("sleep cancelled");
  return Status::Ok();
}

}  // namespace reel
