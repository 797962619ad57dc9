// The scheduler runs one workflow run as a DAG of tasks.
//
// Threads: one Asio io_context, run by the thread that calls Execute, owns all per-run state
// (the run's "strand": no mutex guards it). Operators execute on a worker pool; their
// completions are queued and drained in batches on the io thread, where each batch of
// transitions is committed to the state store in one transaction before any task it makes
// ready starts. Readiness follows events (ReadyTracker), never a rescan of the graph.
//
// Caching: a task of a `cache: true` step, when it becomes ready, gets a cache key: the
// SHA-256 of its parts (CacheParts: the operator and its code version, the rendered `with:`
// with secrets by name, the params its templates read, its foreach item, the files it declares
// in `inputs:` and the script it runs, by digest; for a process step also the outputs and
// artifact digests of its upstream steps, which its process can read). A succeeded
// task of any earlier run with the same key lends it its outputs, artifacts and metrics, and it
// does not run; either way the key and parts are recorded for `reel explain`.
//
// Policies live here, never in operators: `when` (a false step is skipped, and so is what
// only it feeds), `foreach` (one task per item; dependents wait for all), retries with
// exponential backoff and jitter, `timeout` (the attempt's token is cancelled; an operator
// that ignores it is abandoned after a grace period), `catch` (the failure is recorded and the
// run goes on), upstream_failed propagation, resource pools, and cancellation.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "engine/store/artifact_store.h"
#include "engine/store/state_store.h"
#include "engine/time/data_interval.h"
#include "engine/workflow/operator_catalog.h"
#include "engine/workflow/workflow.h"

namespace reel {

// Progress notifications, called on the scheduler's thread.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  virtual void OnRunStarted(const std::string& /*run_id*/, size_t /*steps*/) {}
  // `label` is "step" or "step[i]"; `detail` an error or note.
  virtual void OnTaskChanged(const std::string& /*label*/, TaskStatus /*status*/, int /*attempt*/,
                             const std::string& /*detail*/) {}
  // Called once per batch of transitions, after it was committed or, when its commit is
  // deferred to share a transaction, before: a good moment to write out what OnTaskChanged
  // gathered.
  virtual void Flush() {}
};

struct SchedulerOptions {
  int max_parallel = 0;  // 0: the number of cores
  double cpus = 0;       // 0: the number of cores
  int gpus = 0;
  std::map<std::string, int> pools;  // overrides the workflow's pool sizes
  Millis heartbeat{2000};            // also how often `reel cancel` is noticed
  Millis kill_grace{5000};           // after a cancel, how long an operator may take to stop
  bool handle_signals = false;       // SIGINT/SIGTERM cancel the run
  RunObserver* observer = nullptr;
  uint64_t jitter_seed = 0;  // 0: derived from the run id
  // The most bytes an attempt's log keeps; later output is counted and dropped, and the log
  // ends with a line saying how much.
  uint64_t log_max_bytes = uint64_t{1} << 30;
  // --no-cache: every step runs, whatever its `cache:` says (keys are still recorded).
  bool no_cache = false;
  // --executor: where every step runs whose own block names no `executor:`; unset: where the
  // workflow says (its `defaults:`, else local).
  std::optional<ExecutorKind> executor;
  // The Slurm executor (engine/exec/slurm.h).
  struct Slurm {
    // The reel that jobs run (`reel task-exec`); it must exist at this path on the nodes.
    // Empty: this process's own executable.
    std::filesystem::path reel_binary;
    // Plugins loaded into this process (--plugin, REEL_PLUGIN_PATH), loaded by every job too.
    std::vector<std::string> plugins;
    // squeue is asked every poll_min at first and while jobs change; the interval grows by half
    // each quiet poll, up to poll_max.
    Millis poll_min{250};
    Millis poll_max{2000};
  } slurm;
};

// A Slurm job of an earlier run that nobody collected (its engine died): a resumed run waits for
// it and records its result instead of submitting the attempt again.
struct AdoptedJob {
  std::string job_name;
  std::string job_id;  // empty when the engine died between sbatch and recording the id
  std::filesystem::path job_dir;
  std::string log_path;
};

// A succeeded task of an earlier run whose result a resumed run reuses.
struct ReusedTask {
  int64_t task_id;
  Json item;
  Json outputs;
  std::vector<ArtifactRecord> artifacts;
};

struct RunRequest {
  WorkflowPtr workflow;
  std::string version_hash;  // from StateStore::PutWorkflowVersion
  std::string run_id;
  Json params = Json::object();  // resolved and typed
  std::string logical_date;      // as runs.logical_date records it (engine/time/data_interval.h)
  // The interval it names; unset only for a resumed run that has no logical date.
  std::optional<DataInterval> interval;
  RunTrigger trigger = RunTrigger::kManual;
  std::string origin_run_id;
  std::map<std::string, std::string> tags;  // recorded with the run (RunRecord::tags)
  std::string note;
  // (step, item_index) -> result to reuse instead of executing.
  std::map<std::pair<std::string, int64_t>, ReusedTask> reuse;
  // (step, item_index) -> a job of the origin run still to collect (see AdoptedJob).
  std::map<std::pair<std::string, int64_t>, AdoptedJob> adopt;
  // step -> reason: recorded as skipped with the reason, without running (`reel run --only`).
  std::map<std::string, std::string> skip;
  // Resolves secrets.NAME; nullopt when unknown.
  std::function<std::optional<std::string>(const std::string&)> secrets;
  bool run_record_exists = false;  // true when the caller created the run (backfill, daemon)
  // Checked in the transaction that records the run, before it is recorded: an error (a
  // Conflict from StateStore::ClaimLogicalDate or ClaimResume) means another process has the
  // work, and Execute returns it without recording or running anything.
  std::function<Status(StateStore&)> claim;
};

struct RunOutcome {
  std::string run_id;
  RunStatus status = RunStatus::kSucceeded;  // succeeded, failed or cancelled
  std::string error;
};

class Scheduler {
 public:
  Scheduler(StateStore& store, ArtifactStore& artifacts, OperatorCatalog operators,
            SchedulerOptions options);
  ~Scheduler();

  // Runs to completion and returns the final status. Blocks the calling thread. `stop`, when
  // given, is polled and cancels the run once it becomes true.
  Result<RunOutcome> Execute(const RunRequest& request, const std::atomic<bool>* stop = nullptr);

 private:
  StateStore& store_;
  ArtifactStore& artifacts_;
  OperatorCatalog operators_;
  SchedulerOptions options_;
};

// The value of `secrets.NAME`: $REEL_SECRET_NAME, else the "NAME" key of <home>/secrets.json.
std::function<std::optional<std::string>(const std::string&)> SecretsResolver(
    const std::filesystem::path& home);

}  // namespace reel
