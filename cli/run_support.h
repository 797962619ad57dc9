// Opening a home for commands that touch run state, and printing runs.
#pragma once

#include <memory>
#include <string>

#include "engine/exec/scheduler.h"
#include "home/home.h"

namespace reel::cli {

// Opens the home's stores, and marks runs whose reel process died as failed (telling the user).
// Prints the error and returns false on failure.
bool OpenHomeOrReport(const std::string& home, Home& out);

// Live progress on a terminal (one updating line), plain lines otherwise.
class ProgressPrinter : public RunObserver {
 public:
  explicit ProgressPrinter(bool terminal) : terminal_(terminal) {}
  void OnRunStarted(const std::string& run_id, size_t steps) override;
  void OnTaskChanged(const std::string& label, TaskStatus status, int attempt,
                     const std::string& detail) override;
  void Flush() override;
  void Finish();

 private:
  bool terminal_;
  std::string pending_;      // lines not written yet
  std::string status_line_;  // on a terminal: the progress line
  std::string drawn_;        // the progress line as last drawn
  size_t done_ = 0, failed_ = 0, running_ = 0, total_ = 0;
};

// Runs a prepared request to completion with progress output and a closing summary; returns
// the process exit code.
int ExecuteAndReport(Home& home, const OperatorCatalog& catalog, const RunRequest& request,
                     SchedulerOptions options);

// The exit code for a run that could not be prepared: 2 for a usage error (InvalidArgument),
// 1 when the run cannot go ahead (NotFound, Failed: no earlier run to reuse, an upstream step
// that did not succeed there), 3 otherwise.
int PrepareErrorExitCode(const Status& status);

// Says, on stderr, which run a `reel run --only` reuses and what it runs.
void ReportOnly(const RunRequest& request);

// "1.2s", "3m04s"; "-" when unknown.
std::string FormatElapsed(std::optional<int64_t> start, std::optional<int64_t> end);

}  // namespace reel::cli
