#include <iostream>

#include "cli/common.h"
#include "cli/run_support.h"
#include "engine/exec/run_interval.h"
#include "engine/exec/run_only.h"
#include "engine/exec/runner.h"
#include "engine/schedule/daemon.h"
#include "engine/time/clock.h"

namespace reel::cli {
namespace {

struct RunFlags {
  std::vector<std::string> params;
  std::string date;
  int max_parallel = 0;
  double cpus = 0;
  int gpus = 0;
  std::vector<std::string> pools;
  std::uint64_t log_max_bytes = std::uint64_t{1} << 30;
  bool no_cache = false;
  std::string executor;           // --executor local|slurm
  std::vector<std::string> only;  // --only STEP[,STEP...]
  std::string from_run;           // --from-run RUN
  RunLabelFlags labels;
  bool json = false;
};

void AddSchedulingFlags(CLI::App* cmd, RunFlags& flags) {
  cmd->add_option("--max-parallel", flags.max_parallel, "tasks at once (default: cores)")
      ->transform(NumberIn(1, 100000, true));
  cmd->add_option("--cpus", flags.cpus, "cpus the run may use (default: cores)")
      ->transform(NumberIn(0.01, 100000, false));
  cmd->add_option("--gpus", flags.gpus, "gpus the run may use (default: 0)")
      ->transform(NumberIn(0, 1024, true));
  cmd->add_option("--pool", flags.pools, "size of a named pool, NAME=N (repeatable)");
  cmd->add_option("--log-max-bytes", flags.log_max_bytes,
                  "the most bytes each attempt's log keeps (default: 1 GiB)")
      ->transform(NumberIn(1024, 1e15, true));
  cmd->add_flag("--no-cache", flags.no_cache,
                "run every step, even those with `cache: true` (their keys are still recorded)");
  cmd->add_option("--executor", flags.executor,
                  "where steps run that name no `executor:` themselves: local or slurm (default: "
                  "the workflow's `defaults:`, else local)")
      ->check(CLI::IsMember({"local", "slurm"}));
  AddRunLabelFlags(cmd, flags.labels);
  cmd->add_flag("--json", flags.json, "print the outcome as one JSON object (progress: stderr)");
}

// A scheduled workflow's manual run defaults to the interval `reel serve` would have fired
// last (LatestEndedInterval); one without a schedule keeps "today" (PrepareRun).
std::string DefaultLogicalDate(const Workflow& workflow) {
  if (!workflow.schedule) return "";
  auto cron = CronSchedule::Parse(workflow.schedule->cron, workflow.schedule->timezone);
  if (!cron.ok()) return "";
  auto latest = LatestEndedInterval(*cron, *workflow.schedule, SystemClock().Now());
  if (!latest.ok() || !*latest) return "";
  return IntervalLogicalDate(*cron, **latest);
}

// Parses KEY=VALUE pairs; prints an error and returns false on a malformed one.
bool ParsePairs(const std::vector<std::string>& pairs, const std::string& flag,
                std::map<std::string, std::string>& out) {
  for (const auto& pair : pairs) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      PrintError(flag + " expects KEY=VALUE, got '" + pair + "'");
      return false;
    }
    out[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return true;
}

bool MakeOptions(const RunFlags& flags, SchedulerOptions& options) {
  options.max_parallel = flags.max_parallel;
  options.cpus = flags.cpus;
  options.gpus = flags.gpus;
  options.log_max_bytes = flags.log_max_bytes;
  options.no_cache = flags.no_cache;
  if (!flags.executor.empty()) options.executor = ParseExecutorKind(flags.executor);
  std::map<std::string, std::string> pools;
  if (!ParsePairs(flags.pools, "--pool", pools)) return false;
  for (const auto& [name, size] : pools) {
    try {
      int n = std::stoi(size);
      if (n < 1) throw std::invalid_argument("");
      options.pools[name] = n;
    } catch (const std::exception&) {
      PrintError("--pool " + name + "=" + size + ": the size must be a positive integer");
      return false;
    }
  }
  return true;
}

}  // namespace

void AddRunCommand(CLI::App& app, GlobalOptions& options) {
  auto* cmd = app.add_subcommand("run", "Run a workflow now and wait for it");
  auto file = std::make_shared<std::string>();
  auto flags = std::make_shared<RunFlags>();
  cmd->add_option("FILE", *file, "workflow file")->required();
  cmd->add_option("-p,--param", flags->params, "set a param, KEY=VALUE (repeatable)");
  cmd->add_option("--date", flags->date,
                  "logical date YYYY-MM-DD, or an interval start YYYY-MM-DDTHH:MM[:SS] (Z, an "
                  "offset, or the schedule's time zone) (default: with a schedule, the latest "
                  "interval that has ended, as `reel serve` fires it; else today, UTC)");
  AddSchedulingFlags(cmd, *flags);
  auto* only = cmd->add_option("--only", flags->only,
                               "run only these steps, STEP[,STEP...], reusing their upstream "
                               "results from an earlier run; the other steps are skipped");
  cmd->add_option("--from-run", flags->from_run,
                  "the run whose results --only reuses (default: the latest succeeded run)")
      ->needs(only);
  cmd->footer(
      "Params: `reel params FILE` lists the workflow's params (type, default, required); "
      "set them with -p KEY=VALUE.");
  cmd->callback([&options, file, flags] {
    options.action = [&options, file, flags]() -> int {
      OperatorRegistry registry;
      if (!SetUpRegistry(options, registry)) return kExitUsage;
      auto workflow = LoadWorkflowOrReport(*file, registry);
      if (!workflow) return kExitUsage;
      std::map<std::string, std::string> overrides;
      if (!ParsePairs(flags->params, "-p", overrides)) return kExitUsage;
      auto tags = ParseTags(flags->labels.tags);
      if (!tags.ok()) return ReportFailure(tags.status());
      if (Status s = CheckNote(flags->labels.note); !s.ok()) return ReportFailure(s);
      // With --only, the run takes the logical date of the run it reuses unless --date is given.
      if (flags->date.empty() && flags->only.empty()) {
        flags->date = DefaultLogicalDate(*workflow);
        if (!flags->date.empty()) {
          std::fprintf(stderr,
                       "logical date %s: the latest interval of the schedule that has ended "
                       "(pass --date for another)\n",
                       flags->date.c_str());
        }
      }
      if (!flags->date.empty()) {
        // Checked before the home is opened, so that a bad date writes nothing.
        if (auto interval = ResolveRunInterval(*workflow, flags->date); !interval.ok()) {
          PrintError("--date: " + interval.status().message());
          return kExitUsage;
        }
      }
      auto selected = flags->only.empty() ? Result<std::vector<int>>(std::vector<int>{})
                                          : SelectSteps(*workflow, flags->only);
      if (!selected.ok()) {
        PrintError(selected.status().message());
        return kExitUsage;
      }
      SchedulerOptions sched;
      if (!MakeOptions(*flags, sched)) return kExitUsage;
      sched.slurm.plugins = registry.LoadedPlugins();
      Home home;
      if (!OpenHomeOrReport(ResolveHome(options), home)) return kExitInternal;
      auto request = selected->empty() ? PrepareRun(*home.store, workflow, overrides, flags->date,
                                                    RunTrigger::kManual)
                                       : PrepareOnly(*home.store, workflow, *selected,
                                                     flags->from_run, overrides, flags->date);
      if (!request.ok()) {
        PrintError(request.status().message());
        return PrepareErrorExitCode(request.status());
      }
      if (!selected->empty()) ReportOnly(*request);
      request->tags = *tags;
      request->note = flags->labels.note;
      return ExecuteAndReport(home, registry.Catalog(), *request, sched, flags->json);
    };
  });
}

void AddResumeCommand(CLI::App& app, GlobalOptions& options) {
  auto* cmd =
      app.add_subcommand("resume", "Run a finished run again, reusing the tasks that succeeded");
  auto run_id = std::make_shared<std::string>();
  auto from = std::make_shared<std::string>();
  auto flags = std::make_shared<RunFlags>();
  cmd->add_option("RUN_ID", *run_id, "the run to resume (a unique prefix is enough)")->required();
  cmd->add_option("--from", *from, "run this step and everything downstream of it again");
  AddSchedulingFlags(cmd, *flags);
  cmd->callback([&options, run_id, from, flags] {
    options.action = [&options, run_id, from, flags]() -> int {
      OperatorRegistry registry;
      if (!SetUpRegistry(options, registry)) return kExitUsage;
      SchedulerOptions sched;
      if (!MakeOptions(*flags, sched)) return kExitUsage;
      sched.slurm.plugins = registry.LoadedPlugins();
      auto tags = ParseTags(flags->labels.tags);
      if (!tags.ok()) return ReportFailure(tags.status());
      if (Status s = CheckNote(flags->labels.note); !s.ok()) return ReportFailure(s);
      Home home;
      if (!OpenHomeOrReport(ResolveHome(options), home)) return kExitInternal;
      auto request = PrepareResume(*home.store, registry.Catalog(), *run_id, *from);
      if (!request.ok()) return ReportFailure(request.status());
      // The resumed run keeps the origin's tags and note; those given here are added or win.
      if (auto origin = home.store->GetRun(request->origin_run_id); origin.ok()) {
        request->tags = origin->tags;
        request->note = origin->note;
      }
      for (const auto& [key, value] : *tags) request->tags[key] = value;
      if (!flags->labels.note.empty()) request->note = flags->labels.note;
      std::fprintf(stderr, "resuming run %s as %s (%zu task(s) reused",
                   request->origin_run_id.c_str(), request->run_id.c_str(), request->reuse.size());
      if (!request->adopt.empty()) {
        std::fprintf(stderr, ", %zu Slurm job(s) re-attached", request->adopt.size());
      }
      std::fprintf(stderr, ")\n");
      return ExecuteAndReport(home, registry.Catalog(), *request, sched, flags->json);
    };
  });
}

}  // namespace reel::cli
