// Backfill: one run of a workflow per logical date over a range of days, resumable.
//
// The state of a backfill is nothing but reel.db: for each logical date (runs.logical_date: the
// ds, or the interval start for a schedule that fires several times a day) the latest run of
// the workflow for that logical date decides what a backfill does with it (DecideBackfill):
//
//   no run yet                              run
//   latest run cancelled, or reaped after   resume (an interrupted backfill left it: a plain
//     its process died ("run.reaped")              restart resumes that run, reusing the
//                                                  tasks that succeeded, as `reel resume`)
//   latest run queued or running            skip (active)   another process is on it
//   latest run succeeded                    skip (succeeded), or rerun with reprocess all
//   latest run failed                       skip (failed), or rerun with reprocess failed|all
//
// A rerun is a new run of the workflow as it is now, with the params of the run it replaces
// (-p overrides them); a resume keeps the recorded workflow version and params.
//
// Exactly one run per date: a run is recorded only if, in the same transaction, the date's
// latest run is still the one DecideBackfill saw (StateStore::ClaimLogicalDate). When two
// backfills of one range race, each date runs once; the other process skips it and says who
// has it.
//
// The unit of a backfill is the interval: a daily schedule gets one run per day, an hourly one
// one run per hour (engine/time/data_interval.h).
//
// Threads: RunBackfill executes up to `parallel` runs at once, each on its own thread with its
// own Scheduler, sharing the (thread-safe) StateStore and ArtifactStore.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/exec/scheduler.h"
#include "engine/schedule/backfill_plan.h"
#include "engine/store/artifact_store.h"
#include "engine/store/state_store.h"

namespace reel {

enum class Reprocess { kNone, kFailed, kAll };
// "none" | "failed" | "all"; InvalidArgument otherwise.
Result<Reprocess> ParseReprocess(std::string_view text);

enum class BackfillAction {
  kRun,            // no finished run for the date, or an interrupted one
  kRerun,          // a finished run exists and --reprocess asks for another
  kSkipSucceeded,  // already succeeded
  kSkipFailed,     // failed; --reprocess failed reruns it
  kSkipActive,     // a run for the date is queued or running in another process
  kResume,         // the latest run was interrupted: resume it
};
// "run", "rerun", "skip (succeeded)", "skip (failed)", "skip (running)", "resume".
const char* BackfillActionName(BackfillAction action);
inline bool IsSkip(BackfillAction a) {
  return a != BackfillAction::kRun && a != BackfillAction::kRerun && a != BackfillAction::kResume;
}

struct BackfillItem {
  LogicalDate date;
  BackfillAction action = BackfillAction::kRun;
  std::string previous_run_id;  // the latest run for the date; empty when none
  std::string previous_status;  // its status ("cancelled", "failed (reaped)", ...)
  Json previous_params;         // its params; null when none
};

// The params the item's run will get: resolved from `overrides` and defaults for a new run,
// the previous run's params (under `overrides`) for a rerun, the previous run's for a resume.
Result<Json> PlannedParams(const Workflow& workflow, const BackfillItem& item,
                           const std::map<std::string, std::string>& overrides);

// The dates of `dates` (already planned and ordered) with their actions, read from the runs of
// `workflow` in `store`. Dates that share a logical date are merged into the first. Reads only.
Result<std::vector<BackfillItem>> DecideBackfill(StateStore& store, const std::string& workflow,
                                                 const std::vector<LogicalDate>& dates,
                                                 Reprocess reprocess);

struct BackfillOptions {
  int parallel = 1;                              // runs at once
  std::map<std::string, std::string> overrides;  // -p KEY=VALUE, for every run
  std::map<std::string, std::string> tags;       // --tag KEY=VALUE, recorded with every run
  std::string note;                              // --note, recorded with every run
  SchedulerOptions scheduler;  // per run; handle_signals must stay false (see RunBackfill)
};

// Told about every run a backfill starts and finishes. Calls are serialized (never two at
// once) but come from the backfill's worker threads.
class BackfillObserver {
 public:
  virtual ~BackfillObserver() = default;
  virtual void OnDateStarted(const BackfillItem& /*item*/, const std::string& /*run_id*/) {}
  // `status`: succeeded, failed or cancelled; `error` the run's error or why it could not run.
  virtual void OnDateFinished(const BackfillItem& /*item*/, const std::string& /*run_id*/,
                              RunStatus /*status*/, const std::string& /*error*/) {}
  // Another process claimed the date between planning and running it; `reason` says who.
  virtual void OnDateSkipped(const BackfillItem& /*item*/, const std::string& /*reason*/) {}
};

struct BackfillSummary {
  size_t dates = 0;              // items given
  size_t skipped = 0;            // items whose action was a skip
  size_t succeeded = 0;          // runs that succeeded
  size_t failed = 0;             // runs that failed (or could not be started)
  size_t cancelled = 0;          // runs cancelled by `stop` or `reel cancel`
  size_t not_started = 0;        // runnable items left alone because `stop` was set
  size_t claimed_elsewhere = 0;  // runnable items another process claimed first
  // Every date is done: nothing failed, cancelled or left, and no skip other than succeeded.
  bool all_succeeded = false;
};

// Executes the run/rerun/resume items in order, up to options.parallel at once, each as a run
// with trigger "backfill" and the item's logical date (a resume links to the run it
// resumes as origin_run_id). Once `stop` becomes true no further
// run starts and running ones are cancelled (they end `cancelled`, which the next backfill
// treats as not done). Errors: InvalidArgument for params that do not resolve (nothing runs).
// A run that fails to start (e.g. its resources do not fit) counts as failed.
Result<BackfillSummary> RunBackfill(StateStore& store, ArtifactStore& artifacts,
                                    const OperatorCatalog& operators, WorkflowPtr workflow,
                                    const std::vector<BackfillItem>& items,
                                    const BackfillOptions& options,
                                    const std::atomic<bool>* stop = nullptr,
                                    BackfillObserver* observer = nullptr);

}  // namespace reel
