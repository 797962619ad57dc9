#include "operators/sleep.h"

namespace reel {

OperatorInfo SleepOperator::Info() {
  OperatorInfo info;
  info.name = "sleep";
  info.description = "Waits the given number of seconds; stops at once when cancelled.";
  info.config = {
      {"seconds", ConfigType::kFloat, true, nullptr, "how long to wait, in seconds (>= 0)"},
  };
  info.example = "wait:\n  operator: sleep\n  with: {seconds: 2.5}\n";
  return info;
}

Status SleepOperator::Execute(Context& ctx) {
  double seconds = ctx.config().at("seconds").get<double>();
  if (seconds < 0) return Status::InvalidArgument("sleep: seconds must be >= 0");
  auto d = std::chrono::duration<double>(seconds);
  if (ctx.cancellation().WaitFor(d)) return Status::Cancelled("sleep cancelled");
  return Status::Ok();
}

}  // namespace reel
