// reel backfill FILE --from D1 --to D2: one run per logical date, resumable
// (engine/schedule/backfill.h).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include "cli/common.h"
#include "cli/run_support.h"
#include "engine/base/shutdown_signals.h"
#include "engine/exec/runner.h"
#include "engine/schedule/backfill.h"

namespace reel::cli {
namespace {

struct BackfillFlags {
  std::string file;
  std::string from, to;
  int parallel = 1;
  std::string reprocess = "none";
  bool reverse = false;
  bool dry_run = false;
  std::vector<std::string> params;
  int max_parallel = 0;
  std::uint64_t log_max_bytes = std::uint64_t{1} << 30;
  bool no_cache = false;
  std::string executor;  // --executor local|slurm
  RunLabelFlags labels;
  bool json = false;
};

// What became of one date, for --json.
struct DateOutcome {
  std::string run_id;
  std::string status;
  std::string error;
};

// A bar on a terminal; one line per finished date otherwise. All output on stderr.
class BackfillProgress : public BackfillObserver {
 public:
  BackfillProgress(bool terminal, size_t total) : terminal_(terminal), total_(total) {}

  void OnDateStarted(const BackfillItem&, const std::string&) override {
    ++running_;
    Draw();
  }
  void OnDateFinished(const BackfillItem& item, const std::string& run_id, RunStatus status,
                      const std::string& error) override {
    outcomes_[item.date.key] = {run_id, std::string(ToString(status)), error};
    if (!run_id.empty() && running_ > 0) --running_;
    ++done_;
    if (status != RunStatus::kSucceeded) {
      ++failed_;
      failures_.push_back(item.date.key + " " + std::string(ToString(status)) +
                          (run_id.empty() ? "" : " run=" + run_id) +
                          (error.empty() ? "" : ": " + error));
    }
    if (terminal_) {
      Draw();
      return;
    }
    std::fprintf(stderr, "%s %s %s%s (%zu/%zu)\n", FormatMillisIso(NowMillis(), false).c_str(),
                 item.date.key.c_str(), ToString(status).data(),
                 run_id.empty() ? "" : (" run=" + run_id).c_str(), done_, total_);
    if (!error.empty() && status != RunStatus::kSucceeded) {
      std::fprintf(stderr, "  %s\n", error.c_str());
    }
  }
  void OnDateSkipped(const BackfillItem& item, const std::string& reason) override {
    outcomes_[item.date.key] = {"", "claimed_elsewhere", reason};
    ++done_;
    skipped_.push_back(item.date.key + ": " + reason);
    if (terminal_) {
      Draw();
      return;
    }
    std::fprintf(stderr, "%s %s skipped: %s (%zu/%zu)\n",
                 FormatMillisIso(NowMillis(), false).c_str(), item.date.key.c_str(), reason.c_str(),
                 done_, total_);
  }
  void Finish() {
    if (terminal_ && total_ > 0) std::fprintf(stderr, "\n");
  }
  const std::vector<std::string>& failures() const { return failures_; }
  const std::vector<std::string>& skipped() const { return skipped_; }
  const std::map<std::string, DateOutcome>& outcomes() const { return outcomes_; }

 private:
  void Draw() {
    if (!terminal_) return;
    constexpr size_t kWidth = 30;
    size_t filled = total_ == 0 ? kWidth : done_ * kWidth / total_;
    std::string bar(filled, '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r\033[K[%s] %zu/%zu dates, %zu running%s", bar.c_str(), done_, total_,
                 running_, failed_ ? (", " + std::to_string(failed_) + " failed").c_str() : "");
    std::fflush(stderr);
  }

  bool terminal_;
  size_t total_;
  size_t done_ = 0, running_ = 0, failed_ = 0;
  std::vector<std::string> failures_;
  std::vector<std::string> skipped_;
  std::map<std::string, DateOutcome> outcomes_;  // by date key
};

// A text for JSON: null when empty.
nlohmann::ordered_json TextOrNull(const std::string& text) {
  return text.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(text);
}

// One entry per date: its key and ds, the action taken, and the run that holds its result (the
// new run, or for a skipped date the latest earlier one) with that run's status.
nlohmann::ordered_json DatesJson(const std::vector<BackfillItem>& items,
                                 const std::map<std::string, DateOutcome>& outcomes) {
  using OJson = nlohmann::ordered_json;
  OJson dates = OJson::array();
  for (const auto& item : items) {
    OJson j;
    j["logical_date"] = item.date.key;
    j["ds"] = item.date.ds;
    j["action"] = BackfillActionName(item.action);
    auto it = outcomes.find(item.date.key);
    if (it != outcomes.end()) {
      j["run_id"] = TextOrNull(it->second.run_id);
      j["status"] = it->second.status;
      j["error"] = TextOrNull(it->second.error);
    } else if (IsSkip(item.action)) {
      j["run_id"] = TextOrNull(item.previous_run_id);
      j["status"] = TextOrNull(item.previous_status);
      j["error"] = nullptr;
    } else {
      j["run_id"] = nullptr;
      j["status"] = "not_started";
      j["error"] = nullptr;
    }
    j["previous_run_id"] = TextOrNull(item.previous_run_id);
    dates.push_back(std::move(j));
  }
  return dates;
}

// One line per date: its action, the run it follows, and the params its run would get.
bool PrintPlan(const Workflow& workflow, const BackfillFlags& flags,
               const std::vector<BackfillItem>& items,
               const std::map<std::string, std::string>& overrides) {
  size_t runs = 0;
  for (const auto& item : items) runs += IsSkip(item.action) ? 0 : 1;
  if (flags.json) {
    using OJson = nlohmann::ordered_json;
    OJson dates = OJson::array();
    for (const auto& item : items) {
      OJson j;
      j["logical_date"] = item.date.key;
      j["ds"] = item.date.ds;
      j["action"] = BackfillActionName(item.action);
      j["previous_run_id"] = TextOrNull(item.previous_run_id);
      j["previous_status"] = TextOrNull(item.previous_status);
      j["params"] = nullptr;
      if (!IsSkip(item.action)) {
        auto planned = PlannedParams(workflow, item, overrides);
        if (!planned.ok()) {
          PrintError(item.date.key + ": " + planned.status().message());
          return false;
        }
        j["params"] = OJson::parse(JsonText(*planned, -1));
      }
      dates.push_back(std::move(j));
    }
    std::cout << JsonText(OJson{{"workflow", workflow.name},
                                {"dry_run", true},
                                {"to_run", runs},
                                {"to_skip", items.size() - runs},
                                {"dates", dates}})
              << "\n";
    return true;
  }
  std::printf("backfill %s %s..%s: %zu date(s), %zu to run, %zu to skip (dry run)\n",
              workflow.name.c_str(), flags.from.c_str(), flags.to.c_str(), items.size(), runs,
              items.size() - runs);
  // A schedule that fires several times a day has runs by instant: show each interval.
  const bool by_instant = std::any_of(
      items.begin(), items.end(), [](const BackfillItem& i) { return i.date.key != i.date.ds; });
  if (by_instant) {
    std::printf("%-20s  %-20s  %-16s  %-40s  %s\n", "logical date", "interval end", "action",
                "latest run", "params");
  } else {
    std::printf("%-10s  %-16s  %-40s  %s\n", "ds", "action", "latest run", "params");
  }
  for (const auto& item : items) {
    std::string previous = item.previous_run_id.empty()
                               ? "-"
                               : item.previous_run_id + " (" + item.previous_status + ")";
    std::string params = "-";
    if (!IsSkip(item.action)) {
      auto planned = PlannedParams(workflow, item, overrides);
      if (!planned.ok()) {
        PrintError(item.date.key + ": " + planned.status().message());
        return false;
      }
      params = planned->dump();
    }
    if (by_instant) {
      std::printf("%-20s  %-20s  %-16s  %-40s  %s\n", item.date.key.c_str(),
                  FormatIsoUtc(item.date.end).c_str(), BackfillActionName(item.action),
                  previous.c_str(), params.c_str());
    } else {
      std::printf("%-10s  %-16s  %-40s  %s\n", item.date.ds.c_str(),
                  BackfillActionName(item.action), previous.c_str(), params.c_str());
    }
  }
  return true;
}

int RunBackfillCommand(const GlobalOptions& options, const BackfillFlags& flags) {
  OperatorRegistry registry;
  if (!SetUpRegistry(options, registry)) return kExitUsage;
  auto workflow = LoadWorkflowOrReport(flags.file, registry);
  if (!workflow) return kExitUsage;
  std::map<std::string, std::string> overrides;
  for (const auto& pair : flags.params) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      PrintError("-p expects KEY=VALUE, got '" + pair + "'");
      return kExitUsage;
    }
    overrides[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  auto tags = ParseTags(flags.labels.tags);
  if (!tags.ok()) return ReportFailure(tags.status());
  if (Status s = CheckNote(flags.labels.note); !s.ok()) return ReportFailure(s);
  auto reprocess = ParseReprocess(flags.reprocess);
  if (!reprocess.ok()) {
    PrintError(reprocess.status().message());
    return kExitUsage;
  }
  std::optional<CronSchedule> cron;
  if (workflow->schedule) {
    auto parsed = CronSchedule::Parse(workflow->schedule->cron, workflow->schedule->timezone);
    if (!parsed.ok()) {
      PrintError(parsed.status().message());
      return kExitUsage;
    }
    cron = *parsed;
  }
  BackfillPlanOptions plan_options;
  plan_options.reverse = flags.reverse;
  auto dates = PlanBackfill(cron, flags.from, flags.to, plan_options);
  if (!dates.ok()) {
    PrintError(dates.status().message());
    return kExitUsage;
  }
  if (!dates->empty()) {
    auto params = ResolveParams(*workflow, overrides, dates->front().key, "-");
    if (!params.ok()) {
      PrintError(params.status().message());
      return kExitUsage;
    }
  }
  const std::string home_dir = ResolveHome(options);

  if (flags.dry_run) {
    // Writes nothing: no home is created, no orphaned run is reaped.
    std::vector<BackfillItem> items;
    if (std::filesystem::exists(std::filesystem::path(home_dir) / "reel.db")) {
      auto store = OpenStateStore(home_dir);
      if (!store.ok()) {
        PrintError("cannot open the state store in '" + home_dir +
                   "': " + store.status().message());
        return kExitInternal;
      }
      auto decided = DecideBackfill(**store, workflow->name, *dates, *reprocess);
      if (!decided.ok()) {
        PrintError(decided.status().message());
        return kExitInternal;
      }
      items = std::move(*decided);
    } else {
      std::set<std::string> seen;
      for (const auto& d : *dates) {
        if (seen.insert(d.key).second)
          items.push_back(BackfillItem{d, BackfillAction::kRun, "", ""});
      }
    }
    return PrintPlan(*workflow, flags, items, overrides) ? kExitOk : kExitUsage;
  }

  std::atomic<bool> stop{false};
  ShutdownSignals signals([&stop](int signo) {
    std::fprintf(stderr,
                 "\nreel: %s: cancelling the running runs; run the same command again "
                 "to continue\n",
                 signo == SIGINT ? "interrupted" : "terminated");
    stop.store(true);
  });
  Home home;
  if (!OpenHomeOrReport(home_dir, home)) return kExitInternal;
  auto items = DecideBackfill(*home.store, workflow->name, *dates, *reprocess);
  if (!items.ok()) {
    PrintError(items.status().message());
    return kExitInternal;
  }
  size_t to_run = 0, skip_succeeded = 0, skip_failed = 0, skip_active = 0;
  for (const auto& item : *items) {
    switch (item.action) {
      case BackfillAction::kRun:
      case BackfillAction::kRerun:
      case BackfillAction::kResume:
        ++to_run;
        break;
      case BackfillAction::kSkipSucceeded:
        ++skip_succeeded;
        break;
      case BackfillAction::kSkipFailed:
        ++skip_failed;
        break;
      case BackfillAction::kSkipActive:
        ++skip_active;
        break;
    }
  }
  std::fprintf(stderr,
               "backfill %s %s..%s: %zu date(s), %zu to run, %zu already succeeded, "
               "parallel %d\n",
               workflow->name.c_str(), flags.from.c_str(), flags.to.c_str(), items->size(), to_run,
               skip_succeeded, flags.parallel);

  BackfillOptions run_options;
  run_options.parallel = flags.parallel;
  run_options.overrides = overrides;
  run_options.tags = *tags;
  run_options.note = flags.labels.note;
  run_options.scheduler.max_parallel = flags.max_parallel;
  run_options.scheduler.log_max_bytes = flags.log_max_bytes;
  run_options.scheduler.no_cache = flags.no_cache;
  if (!flags.executor.empty()) run_options.scheduler.executor = ParseExecutorKind(flags.executor);
  run_options.scheduler.slurm.plugins = registry.LoadedPlugins();
  BackfillProgress progress(isatty(STDERR_FILENO) != 0, to_run);
  auto summary = RunBackfill(*home.store, *home.artifacts, registry.Catalog(), workflow, *items,
                             run_options, &stop, &progress);
  progress.Finish();
  if (!summary.ok()) {
    PrintError(summary.status().message());
    return summary.status().code() == Status::Code::kInvalidArgument ? kExitUsage : kExitInternal;
  }
  if (flags.json) {
    std::cout << JsonText(nlohmann::ordered_json{{"workflow", workflow->name},
                                                 {"ok", summary->all_succeeded},
                                                 {"succeeded", summary->succeeded},
                                                 {"failed", summary->failed},
                                                 {"cancelled", summary->cancelled},
                                                 {"skipped", summary->skipped},
                                                 {"dates", DatesJson(*items, progress.outcomes())}})
              << "\n";
  } else {
    std::printf(
        "backfill %s %s..%s: %zu succeeded, %zu failed, %zu cancelled, %zu skipped "
        "(%zu already succeeded)\n",
        workflow->name.c_str(), flags.from.c_str(), flags.to.c_str(), summary->succeeded,
        summary->failed, summary->cancelled, summary->skipped, skip_succeeded);
  }
  for (const auto& failure : progress.failures()) std::fprintf(stderr, "  %s\n", failure.c_str());
  if (skip_failed > 0) {
    std::fprintf(stderr,
                 "reel: %zu date(s) skipped because their latest run failed; rerun them "
                 "with --reprocess failed\n",
                 skip_failed);
  }
  if (skip_active > 0) {
    std::fprintf(stderr,
                 "reel: %zu date(s) skipped because a run for them is still running "
                 "elsewhere (see `reel runs --status running`)\n",
                 skip_active);
  }
  if (summary->claimed_elsewhere > 0) {
    std::fprintf(stderr, "reel: %zu date(s) skipped because another process started them first:\n",
                 summary->claimed_elsewhere);
    for (const auto& skipped : progress.skipped()) std::fprintf(stderr, "  %s\n", skipped.c_str());
  }
  if (summary->cancelled > 0 || summary->not_started > 0) {
    std::fprintf(stderr,
                 "reel: backfill stopped with %zu date(s) not done; run the same command "
                 "again to continue\n",
                 summary->cancelled + summary->not_started);
  }
  return summary->all_succeeded ? kExitOk : kExitRunFailed;
}

}  // namespace

void AddBackfillCommand(CLI::App& app, GlobalOptions& options) {
  auto* cmd = app.add_subcommand(
      "backfill", "Run a workflow once per logical date over a range of days (resumable)");
  auto flags = std::make_shared<BackfillFlags>();
  cmd->add_option("FILE", flags->file, "workflow file")->required();
  cmd->add_option("--from", flags->from,
                  "first day YYYY-MM-DD, or first interval start YYYY-MM-DDTHH:MM[:SS] (Z, an "
                  "offset, or the schedule's time zone)")
      ->required();
  cmd->add_option("--to", flags->to,
                  "last day YYYY-MM-DD, or last interval start YYYY-MM-DDTHH:MM[:SS] (inclusive)")
      ->required();
  cmd->add_option("--parallel", flags->parallel, "runs at once (default: 1)")
      ->transform(NumberIn(1, 1000, true));
  cmd->add_option("--reprocess", flags->reprocess,
                  "rerun dates that already ran: none (default), failed, all")
      ->check(CLI::IsMember({"none", "failed", "all"}));
  cmd->add_flag("--reverse", flags->reverse, "newest date first");
  cmd->add_flag("--dry-run", flags->dry_run, "print what would run and write nothing");
  cmd->add_option("-p,--param", flags->params, "set a param for every run, KEY=VALUE (repeatable)");
  cmd->add_option("--max-parallel", flags->max_parallel,
                  "tasks at once within a run (default: cores)")
      ->transform(NumberIn(1, 100000, true));
  cmd->add_option("--log-max-bytes", flags->log_max_bytes,
                  "the most bytes each attempt's log keeps (default: 1 GiB)")
      ->transform(NumberIn(1024, 1e15, true));
  cmd->add_flag("--no-cache", flags->no_cache,
                "run every step, even those with `cache: true` (their keys are still recorded)");
  cmd->add_option("--executor", flags->executor,
                  "where steps run that name no `executor:` themselves: local or slurm (default: "
                  "the workflow's `defaults:`, else local)")
      ->check(CLI::IsMember({"local", "slurm"}));
  AddRunLabelFlags(cmd, flags->labels);
  cmd->add_flag("--json", flags->json,
                "print the outcome as JSON, one entry per date (progress: stderr)");
  cmd->callback([&options, flags] {
    options.action = [&options, flags]() -> int { return RunBackfillCommand(options, *flags); };
  });
}

}  // namespace reel::cli
