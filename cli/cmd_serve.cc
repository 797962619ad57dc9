// reel serve: the cron daemon (engine/schedule/daemon.h), one per home.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli/common.h"
#include "cli/run_support.h"
#include "engine/base/duration.h"
#include "engine/base/fsutil.h"
#include "engine/base/shutdown_signals.h"
#include "engine/schedule/daemon.h"
#include "engine/schedule/daemon_lock.h"

namespace reel::cli {
namespace {

struct ServeFlags {
  std::string workflows = "workflows";
  std::string poll = "10s";
  std::string grace = "30s";
  bool once = false;
  bool json = false;
  std::string now;
  int max_parallel = 0;
  std::uint64_t log_max_bytes = std::uint64_t{1} << 30;
};

// Where log lines go: stdout, or stderr when stdout carries --json.
std::FILE* log_stream = stdout;

// Every line starts with the wall-clock time; flushed, so that `tee` and journald see lines as
// they happen.
void PrintLogLine(const std::string& line) {
  std::string stamp = FormatMillisIso(NowMillis(), false);
  std::fprintf(log_stream, "%s %s\n", stamp.c_str(), line.c_str());
  std::fflush(log_stream);
}

const char* DecisionName(DaemonDecision::Kind kind) {
  switch (kind) {
    case DaemonDecision::Kind::kLoaded:
      return "loaded";
    case DaemonDecision::Kind::kReloaded:
      return "reloaded";
    case DaemonDecision::Kind::kRemoved:
      return "removed";
    case DaemonDecision::Kind::kIgnored:
      return "ignored";
    case DaemonDecision::Kind::kInvalid:
      return "invalid";
    case DaemonDecision::Kind::kFired:
      return "fired";
    case DaemonDecision::Kind::kSkipped:
      return "skipped";
    case DaemonDecision::Kind::kWaiting:
      return "waiting";
    case DaemonDecision::Kind::kCaughtUp:
      return "caught_up";
    case DaemonDecision::Kind::kError:
      return "error";
  }
  return "unknown";
}

bool ParseSeconds(const std::string& text, const char* flag, std::chrono::milliseconds& out) {
  Result<Millis> d = ParseDuration(text);
  if (!d.ok() || d->count() <= 0) {
    PrintError(std::string(flag) + " expects a positive duration such as 10s or 1m, got '" + text +
               "'");
    return false;
  }
  out = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  return true;
}

int Serve(const GlobalOptions& options, const ServeFlags& flags) {
  if (flags.json && !flags.once) {
    PrintError("--json only goes with --once (it prints what the poll decided)");
    return kExitUsage;
  }
  if (flags.json) log_stream = stderr;
  OperatorRegistry registry;
  if (!SetUpRegistry(options, registry)) return kExitUsage;
  std::chrono::milliseconds poll, grace;
  if (!ParseSeconds(flags.poll, "--poll", poll) || !ParseSeconds(flags.grace, "--grace", grace)) {
    return kExitUsage;
  }
  std::optional<std::chrono::sys_seconds> now_override;
  if (!flags.now.empty()) {
    if (!flags.once) {
      PrintError("--now only goes with --once (a single poll at that instant)");
      return kExitUsage;
    }
    Result<std::chrono::sys_seconds> parsed = ParseIsoInstant(flags.now);
    if (!parsed.ok()) {
      PrintError("--now: " + parsed.status().message());
      return kExitUsage;
    }
    now_override = *parsed;
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(flags.workflows, ec)) {
    PrintError("workflows folder '" + flags.workflows +
               "' does not exist or is not a folder; pass --workflows DIR");
    return kExitUsage;
  }
  const std::string home_dir = ResolveHome(options);
  if (Status s = MakePrivateDirs(home_dir); !s.ok()) {
    PrintError("cannot create home '" + home_dir + "': " + s.message());
    return kExitInternal;
  }
  Result<std::unique_ptr<ServeLock>> lock = ServeLock::Acquire(home_dir);
  if (!lock.ok()) {
    PrintError(lock.status().message());
    return lock.status().code() == Status::Code::kConflict ? kExitUsage : kExitInternal;
  }

  SystemClock clock;
  std::atomic<bool> stop{false};
  ShutdownSignals signals([&stop, &clock](int signo) {
    PrintLogLine(std::string(signo == SIGINT ? "interrupted" : "terminated") +
                 ": no more runs will be fired; draining");
    stop.store(true);
    clock.Interrupt();
  });
  Home home;
  if (!OpenHomeOrReport(home_dir, home)) return kExitInternal;

  DaemonOptions daemon_options;
  daemon_options.workflows_dir = flags.workflows;
  daemon_options.poll = std::chrono::duration_cast<std::chrono::seconds>(poll);
  if (daemon_options.poll.count() < 1) daemon_options.poll = std::chrono::seconds(1);
  daemon_options.drain_grace = grace;
  daemon_options.scheduler.max_parallel = flags.max_parallel;
  daemon_options.scheduler.log_max_bytes = flags.log_max_bytes;
  daemon_options.load_plugin = [&registry](const std::filesystem::path& plugin) {
    return registry.LoadWorkflowPlugin(plugin);
  };
  Daemon daemon(*home.store, *home.artifacts, registry.Catalog(), daemon_options, PrintLogLine);

  if (flags.once) {
    std::chrono::sys_seconds at = now_override.value_or(clock.Now());
    PrintLogLine("polling " + flags.workflows + " once at " + FormatIsoUtc(at) + " (home " +
                 home_dir + ")");
    // Intervals queued behind max_active_runs fire as soon as the runs before them finish,
    // so one --once works off everything that is due at `at`.
    std::vector<DaemonDecision> decisions;
    for (bool fired = true; fired && !stop.load();) {
      std::vector<DaemonDecision> round = daemon.Tick(at);
      fired = false;
      for (auto& d : round) {
        fired = fired || d.kind == DaemonDecision::Kind::kFired;
        decisions.push_back(std::move(d));
      }
      while (!stop.load() && !daemon.WaitForRuns(std::chrono::milliseconds(200))) {
      }
    }
    daemon.Shutdown(grace);
    // Exit 1 when a fired run did not succeed or the poll hit an error (for crontab users).
    int rc = kExitOk;
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& d : decisions) {
      if (d.kind == DaemonDecision::Kind::kError) rc = kExitRunFailed;
      nlohmann::ordered_json j;
      j["decision"] = DecisionName(d.kind);
      j["file"] = d.file;
      j["workflow"] =
          d.workflow.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(d.workflow);
      if (!d.ds.empty()) {
        j["ds"] = d.ds;
        j["interval_start"] = FormatIsoUtc(d.interval);
        j["count"] = d.count;
      }
      j["message"] = d.message;
      if (d.kind == DaemonDecision::Kind::kFired) {
        Result<RunRecord> run = home.store->GetRun(d.run_id);
        if (!run.ok() || run->status != RunStatus::kSucceeded) rc = kExitRunFailed;
        j["run_id"] = d.run_id;
        j["status"] = run.ok() ? nlohmann::ordered_json(ToString(run->status))
                               : nlohmann::ordered_json(nullptr);
      }
      out.push_back(std::move(j));
    }
    if (flags.json) {
      std::cout << JsonText(nlohmann::ordered_json{
                       {"at", FormatIsoUtc(at)}, {"ok", rc == kExitOk}, {"decisions", out}})
                << "\n";
    }
    return rc;
  }
  PrintLogLine("serving " + flags.workflows + " (home " + home_dir + ", pid " +
               std::to_string(::getpid()) + ", poll " + flags.poll + ")");
  daemon.Serve(clock, stop);
  PrintLogLine("stopped");
  return kExitOk;
}

}  // namespace

void AddServeCommand(CLI::App& app, GlobalOptions& options) {
  auto* cmd = app.add_subcommand(
      "serve", "Run the cron daemon: fire the scheduled workflows of a folder (one per home)");
  auto flags = std::make_shared<ServeFlags>();
  cmd->add_option("--workflows", flags->workflows,
                  "folder of workflow files (*.yaml, *.yml) (default: ./workflows)");
  cmd->add_option("--poll", flags->poll, "longest time between polls of the folder (default: 10s)");
  cmd->add_option("--grace", flags->grace,
                  "on SIGTERM/SIGINT, how long running runs may finish before they are cancelled "
                  "(default: 30s)");
  cmd->add_flag("--once", flags->once,
                "poll once, wait for the runs it fired, and exit (for crontab, tests, replays)");
  cmd->add_flag("--json", flags->json,
                "with --once: print what the poll decided and fired as JSON (log lines: stderr)");
  cmd->add_option("--now", flags->now,
                  "with --once: poll as if it were this ISO-8601 instant (testing, replays)");
  cmd->add_option("--max-parallel", flags->max_parallel,
                  "tasks at once within each run (default: cores)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--log-max-bytes", flags->log_max_bytes,
                  "the most bytes each attempt's log keeps (default: 1 GiB)")
      ->transform(NumberIn(1024, 1e15, true));
  cmd->callback([&options, flags] {
    options.action = [&options, flags]() -> int { return Serve(options, *flags); };
  });
}

}  // namespace reel::cli
