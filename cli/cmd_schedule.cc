// `reel schedule next "CRON" [--tz ZONE] [--from ISO8601] [-n N]`: the next fire times of a
// cron expression, one ISO-8601 UTC instant a line. `schedule` is a command group.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/common.h"
#include "engine/time/clock.h"
#include "engine/time/cron.h"

namespace reel::cli {
namespace {

struct NextArgs {
  std::string expression;
  std::string timezone = "UTC";
  std::string from;  // empty: now
  int count = 5;
  bool json = false;
};

int RunNext(const NextArgs& args) {
  Result<CronSchedule> schedule = CronSchedule::Parse(args.expression, args.timezone);
  if (!schedule.ok()) {
    PrintError(schedule.status().message());
    return kExitUsage;
  }
  std::chrono::sys_seconds t = SystemClock().Now();
  if (!args.from.empty()) {
    Result<std::chrono::sys_seconds> from = ParseIsoInstant(args.from);
    if (!from.ok()) {
      PrintError("--from: " + from.status().message());
      return kExitUsage;
    }
    t = *from;
  }
  std::vector<std::string> instants;
  for (int i = 0; i < args.count; ++i) {
    Result<std::chrono::sys_seconds> next = schedule->NextAfter(t);
    if (!next.ok()) {
      PrintError(next.status().message());
      return kExitUsage;
    }
    t = *next;
    instants.push_back(FormatIsoUtc(t));
  }
  if (args.json) {
    std::printf("%s\n", JsonText(nlohmann::ordered_json(instants)).c_str());
    return kExitOk;
  }
  for (const auto& instant : instants) std::printf("%s\n", instant.c_str());
  return kExitOk;
}

}  // namespace

void AddScheduleCommand(CLI::App& app, GlobalOptions& options) {
  auto* schedule = app.add_subcommand("schedule", "Inspect cron schedules");
  schedule->require_subcommand(1);

  auto args = std::make_shared<NextArgs>();
  auto* next = schedule->add_subcommand(
      "next", "Print the next fire times of a cron expression, one ISO-8601 UTC instant a line");
  next->add_option("CRON", args->expression,
                   "five fields (minute hour day-of-month month day-of-week) or a macro "
                   "such as @daily; quote it")
      ->required();
  next->add_option("--tz", args->timezone, "IANA time zone the expression is read in")
      ->default_val("UTC")
      ->type_name("ZONE");
  next->add_option("--from", args->from,
                   "list fire times strictly after this instant (default: now), e.g. "
                   "2026-11-27T12:00:00Z, 2026-11-27T13:00:00+01:00 or 2026-11-27")
      ->type_name("ISO8601");
  next->add_option("-n,--count", args->count, "how many fire times to print")
      ->default_val(5)
      ->check(CLI::Range(1, 100000));
  next->add_flag("--json", args->json, "print a JSON array of ISO-8601 UTC instants");
  next->callback([&options, args] { options.action = [args] { return RunNext(*args); }; });
}

}  // namespace reel::cli
