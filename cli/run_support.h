// Opening a home for commands that touch run state, and printing runs.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

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

// Runs a prepared request to completion with progress output (stderr) and a closing summary
// (stdout: a table, or with `json` one JSON object, RunSummaryJson); returns the exit code.
int ExecuteAndReport(Home& home, const OperatorCatalog& catalog, const RunRequest& request,
                     SchedulerOptions options, bool json = false);

// A finished run for --json output: run_id, workflow, status, logical_date, duration_ms, tags,
// note, error, and its tasks (in DAG order) with status, attempts, duration_ms and error.
nlohmann::ordered_json RunSummaryJson(const RunRecord& run, const std::vector<TaskRecord>& tasks);

// --tag KEY=VALUE (repeatable) and --note TEXT, for run, resume and backfill.
struct RunLabelFlags {
  std::vector<std::string> tags;
  std::string note;
};
void AddRunLabelFlags(CLI::App* cmd, RunLabelFlags& flags);
// Checks and parses --tag values: KEY=VALUE, KEY an identifier ([A-Za-z_][A-Za-z0-9_]*, at most
// 64 bytes), VALUE at most 256 bytes without control characters, each key once, at most 32
// tags; `flag` names the flag in errors. InvalidArgument says what is wrong and how to fix it.
Result<std::map<std::string, std::string>> ParseTags(const std::vector<std::string>& given,
                                                     const std::string& flag = "--tag");
// A note of at most 4096 bytes of UTF-8.
Status CheckNote(const std::string& note);

// The steps of a workflow in DAG order (topological, ties in file order), from its YAML text as
// the store records it; empty when the text cannot be read.
std::vector<std::string> StepOrderFromYaml(const std::string& yaml);
// Sorts tasks by their step's position in `order` (unknown steps last, in their former order),
// foreach items by index.
void SortTasks(const std::vector<std::string>& order, std::vector<TaskRecord>& tasks);

// "train[2]" for a foreach item, "train" otherwise.
std::string TaskLabel(const TaskRecord& task);

// The exit code for a run that could not be prepared: 2 for a usage error (InvalidArgument),
// 1 when the run cannot go ahead (NotFound, Failed: no earlier run to reuse, an upstream step
// that did not succeed there), 3 otherwise.
int PrepareErrorExitCode(const Status& status);

// Says, on stderr, which run a `reel run --only` reuses and what it runs.
void ReportOnly(const RunRequest& request);

// "1.2s", "3m04s"; "-" when unknown.
std::string FormatElapsed(std::optional<int64_t> start, std::optional<int64_t> end);

}  // namespace reel::cli
