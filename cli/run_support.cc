#include "cli/run_support.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"

namespace reel::cli {

bool OpenHomeOrReport(const std::string& home, Home& out) {
  auto opened = OpenHome(home);
  if (!opened.ok()) {
    PrintError(opened.status().message());
    return false;
  }
  out = std::move(*opened);
  auto reaped = out.store->ReapOrphanedRuns(std::chrono::minutes(2));
  if (reaped.ok()) {
    for (const auto& run : *reaped) {
      std::fprintf(stderr,
                   "reel: run %s was left running by a reel process that is gone; marked it "
                   "failed (resume it with `reel resume %s`)\n",
                   run.c_str(), run.c_str());
    }
  }
  return true;
}

std::string FormatElapsed(std::optional<int64_t> start, std::optional<int64_t> end) {
  if (!start || !end) return "-";
  double seconds = static_cast<double>(*end - *start) / 1000.0;
  char buf[32];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else {
    int s = static_cast<int>(seconds);
    std::snprintf(buf, sizeof buf, "%dm%02ds", s / 60, s % 60);
  }
  return buf;
}

void ProgressPrinter::OnRunStarted(const std::string& run_id, size_t steps) {
  total_ = steps;
  std::fprintf(stderr, "run %s started (%zu steps)\n", run_id.c_str(), steps);
}

void ProgressPrinter::OnTaskChanged(const std::string& label, TaskStatus status, int attempt,
                                    const std::string& detail) {
  if (status == TaskStatus::kRunning) {
    ++running_;
  } else if (IsTerminal(status)) {
    if (attempt > 0 && running_ > 0 && status != TaskStatus::kUpstreamFailed &&
        status != TaskStatus::kSkipped && detail.rfind("reused", 0) != 0) {
      --running_;
    }
    ++done_;
    if (status == TaskStatus::kFailed || status == TaskStatus::kUpstreamFailed) ++failed_;
  } else if (running_ > 0) {
    --running_;  // back to queued for a retry
  }
  if (terminal_) {
    // One status line, redrawn when a batch of transitions is written out (Flush); failures
    // get lines of their own.
    status_line_ = "[" + std::to_string(done_) + " done, " + std::to_string(running_) + " running" +
                   (failed_ ? ", " + std::to_string(failed_) + " failed" : "") + "] " + label +
                   " " + std::string(ToString(status));
    if (status == TaskStatus::kFailed && !detail.empty()) {
      pending_ += "  " + label + ": " + detail + "\n";
    }
    return;
  }
  pending_ +=
      FormatMillisIso(NowMillis(), false) + " " + label + " " + std::string(ToString(status));
  if (status == TaskStatus::kRunning && attempt > 1) {
    pending_ += " (attempt " + std::to_string(attempt) + ")";
  }
  if (!detail.empty() && status != TaskStatus::kRunning) pending_ += ": " + detail;
  pending_ += '\n';
}

void ProgressPrinter::Flush() {
  if (terminal_) {
    if (pending_.empty() && status_line_ == drawn_) return;  // nothing new to show
    std::string out = "\r\033[K" + pending_ + status_line_;
    std::fwrite(out.data(), 1, out.size(), stderr);
    drawn_ = status_line_;
  } else {
    std::fwrite(pending_.data(), 1, pending_.size(), stderr);
  }
  pending_.clear();
}

void ProgressPrinter::Finish() {
  Flush();
  if (terminal_) std::fprintf(stderr, "\r\033[K");
}

int PrepareErrorExitCode(const Status& status) {
  switch (status.code()) {
    case Status::Code::kInvalidArgument:
      return kExitUsage;
    case Status::Code::kNotFound:
    case Status::Code::kFailed:
      return kExitRunFailed;
    default:
      return kExitInternal;
  }
}

void ReportOnly(const RunRequest& request) {
  size_t skipped = request.skip.size();
  size_t steps = request.workflow ? request.workflow->steps.size() : 0;
  size_t reused = 0;
  if (request.workflow) {
    for (const auto& step : request.workflow->steps) {
      if (request.reuse.lower_bound({step.name, INT64_MIN}) !=
              request.reuse.upper_bound({step.name, INT64_MAX}) &&
          !request.skip.count(step.name)) {
        ++reused;
      }
    }
  }
  std::fprintf(stderr,
               "running %zu of %zu step(s) as run %s; %zu upstream step(s) reused from run %s\n",
               steps - skipped - reused, steps, request.run_id.c_str(), reused,
               request.origin_run_id.c_str());
}

int ExecuteAndReport(Home& home, const OperatorCatalog& catalog, const RunRequest& request,
                     SchedulerOptions options) {
  ProgressPrinter progress(isatty(STDERR_FILENO) != 0);
  options.observer = &progress;
  options.handle_signals = true;
  Scheduler scheduler(*home.store, *home.artifacts, catalog, options);
  auto outcome = scheduler.Execute(request);
  progress.Finish();
  if (!outcome.ok()) {
    PrintError(outcome.status().message());
    switch (outcome.status().code()) {
      case Status::Code::kInvalidArgument:
        return kExitUsage;
      case Status::Code::kConflict:  // another process has the work (a claim), nothing ran
        return kExitRunFailed;
      default:
        return kExitInternal;
    }
  }
  auto run = home.store->GetRun(request.run_id);
  auto tasks = home.store->GetTasks(request.run_id);
  std::printf("run %s %s", request.run_id.c_str(), ToString(outcome->status).data());
  if (run.ok()) std::printf(" in %s", FormatElapsed(run->started_at, run->ended_at).c_str());
  std::printf("\n");
  if (tasks.ok()) {
    size_t width = 4;
    for (const auto& t : *tasks) width = std::max(width, t.step.size() + 6);
    for (const auto& t : *tasks) {
      std::string label =
          t.item_index < 0 ? t.step : t.step + "[" + std::to_string(t.item_index) + "]";
      std::string note = t.reused_from ? " (reused)" : "";
      if (!t.error.empty() && t.status != TaskStatus::kSucceeded) {
        note += "  " + t.error.substr(0, 200);
      }
      std::printf("  %-*s %-16s %s%s\n", static_cast<int>(width), label.c_str(),
                  ToString(t.status).data(), FormatElapsed(t.started_at, t.ended_at).c_str(),
                  note.c_str());
    }
  }
  if (outcome->status != RunStatus::kSucceeded) {
    if (!outcome->error.empty()) std::fprintf(stderr, "reel: %s\n", outcome->error.c_str());
    std::fprintf(stderr,
                 "reel: see `reel show %s` and `reel logs %s`; resume with `reel resume %s`\n",
                 request.run_id.c_str(), request.run_id.c_str(), request.run_id.c_str());
    return kExitRunFailed;
  }
  return kExitOk;
}

}  // namespace reel::cli
