// The cron daemon behind `reel serve`: watches a folder of workflow files and fires a run for
// every schedule interval that has ended (docs/scheduling.md, "The daemon").
//
// Semantics (Airflow's): an interval runs from one fire time of the cron to the next; its run
// is fired once the interval has ended, with logical date = the interval start and ds = that
// instant's date in the schedule's zone.
//
//   first sight of a workflow (no row in `schedules`): only the latest ended interval is due
//   later polls: every interval after the latest decided one is due; with `catchup: false`
//       only the newest of them runs, with `catchup: true` the newest `catchup_limit` (oldest
//       first); the others are recorded as skipped and logged
//   `start_date`: no interval that starts before it
//   `max_active_runs` counts this workflow's queued or running runs with trigger `schedule`
//       (backfills and manual runs never hold a scheduled run back); when they are reached,
//       `overlap: queue` leaves due intervals due until a slot frees, `overlap: skip` records
//       them as skipped
//
// Durability: a fired interval's run row (status queued) and its `schedules` row are written
// in one transaction (engine/schedule/schedule_store.h), so a restart neither fires it again nor
// loses it. Skips are recorded the same way.
//
// Threads: Tick and Serve are called from one thread. Each fired run executes on its own
// thread (Scheduler::Execute); the store and artifact store are shared (both thread-safe).
// The log sink is called from the ticking thread and from run threads, one call at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/exec/scheduler.h"
#include "engine/store/artifact_store.h"
#include "engine/store/state_store.h"
#include "engine/time/clock.h"
#include "engine/time/cron.h"
#include "engine/time/data_interval.h"
#include "engine/workflow/workflow.h"

namespace reel {

struct DaemonOptions {
  std::filesystem::path workflows_dir;  // *.yaml and *.yml files in it (not recursive)
  SchedulerOptions scheduler;           // for every run; handle_signals and observer are ignored
  std::chrono::seconds poll{10};        // Serve: at most this long between polls
  std::chrono::milliseconds drain_grace{std::chrono::seconds(30)};  // Serve's shutdown
  // Loads a plugin named in a workflow's `plugins:` list (see LoadOptions); unset: such a
  // workflow is loaded with only the operators known already. Called on the polling thread
  // while runs may be executing.
  std::function<Status(const std::filesystem::path&)> load_plugin;
};

struct DaemonDecision {
  enum class Kind {
    kLoaded,    // a new workflow file with a schedule
    kReloaded,  // its text changed: a new version is recorded
    kRemoved,   // its file is gone (or lost its schedule): no more runs
    kIgnored,   // a valid file without a schedule
    kInvalid,   // does not validate: not scheduled until fixed
    kFired,     // a run was created for an interval
    kSkipped,   // an interval (or several: `count`) recorded as skipped
    kWaiting,   // overlap: queue and max_active_runs reached; stays due
    kCaughtUp,  // several intervals fired in one poll
    kError,     // the store or the folder failed; retried on the next poll
  };
  Kind kind;
  std::string file;  // file name within the folder
  std::string workflow;
  std::string ds;                       // for interval decisions (the first one when count > 1)
  std::chrono::sys_seconds interval{};  // interval start, for interval decisions
  size_t count = 1;                     // intervals covered
  std::string run_id;                   // kFired
  std::string message;                  // the log line, without its timestamp
};

// A cron interval's logical date, as the daemon records it: YYYY-MM-DD of `start` in `cron`'s zone.
std::string IntervalDs(const CronSchedule& cron, std::chrono::sys_seconds start);
// What runs.logical_date records for that interval: its ds, or its start as a UTC instant when
// `cron` fires several times a day (engine/time/data_interval.h).
std::string IntervalLogicalDate(const CronSchedule& cron, std::chrono::sys_seconds start);

// Which intervals of `cron` are due at `now`, given the latest decided one (nullopt: the
// workflow was never scheduled). Pure; see the header comment for the rules.
struct DueIntervals {
  std::chrono::sys_seconds decided_before{};  // `last`, or the baseline chosen at first sight
  bool first_sight = false;
  std::vector<std::chrono::sys_seconds> to_run;  // oldest first
  size_t dropped = 0;  // missed intervals not to run (catchup off, or past catchup_limit)
  std::chrono::sys_seconds first_dropped{}, last_dropped{};
};
Result<DueIntervals> FindDueIntervals(const CronSchedule& cron, const Schedule& schedule,
                                      std::optional<std::chrono::sys_seconds> last,
                                      std::chrono::sys_seconds now);

// The interval `reel serve` fires last at `now` when it first sees the workflow: the latest one
// that has ended by `now` (and starts on or after its start_date); nullopt when none has. A
// manual `reel run` without --date takes this one.
Result<std::optional<std::chrono::sys_seconds>> LatestEndedInterval(const CronSchedule& cron,
                                                                    const Schedule& schedule,
                                                                    std::chrono::sys_seconds now);

class Daemon {
 public:
  using LogSink = std::function<void(const std::string& line)>;

  // `operators` must outlive the daemon. Nothing happens until the first Tick.
  Daemon(StateStore& store, ArtifactStore& artifacts, OperatorCatalog operators,
         DaemonOptions options, LogSink log);
  // Shutdown(0): runs still going are cancelled and waited for.
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // One poll at `now`: rescans the folder (new, changed, removed, invalid files), then fires
  // or skips every due interval. Returns (and logs) every decision. Does nothing after
  // Shutdown.
  std::vector<DaemonDecision> Tick(std::chrono::sys_seconds now);

  // The earliest fire time after `now` among the loaded workflows: when the next interval ends.
  std::optional<std::chrono::sys_seconds> NextDue(std::chrono::sys_seconds now) const;

  // Runs started by this daemon that have not finished.
  size_t active_runs() const;
  // Waits until every run this daemon started has finished; false if `timeout` passed first.
  bool WaitForRuns(std::chrono::milliseconds timeout);
  // Stops firing, waits up to `grace` for running runs, then cancels the rest (they end
  // `cancelled`) and waits for them. Idempotent.
  void Shutdown(std::chrono::milliseconds grace);

  // The loop of `reel serve`: Tick, then sleep on `clock` until the next interval ends or
  // `options.poll` passes, until `stop` is true; then Shutdown(options.drain_grace). Whoever
  // sets `stop` must also call clock.Interrupt() so that the sleep ends at once.
  void Serve(Clock& clock, const std::atomic<bool>& stop);

 private:
  struct WatchedFile {
    std::string text;
    WorkflowPtr workflow;  // null when invalid or without a schedule
    std::optional<CronSchedule> cron;
    std::string version;
  };
  struct ActiveRun {
    std::string run_id;
    std::thread thread;
    bool done = false;  // guarded by runs_mu_
  };

  void Log(const std::string& line);
  void Decide(std::vector<DaemonDecision>& out, DaemonDecision decision);
  void ScanFiles(std::vector<DaemonDecision>& out);
  void LoadFile(const std::string& name, const std::string& text, std::vector<DaemonDecision>& out);
  // Decides what is due for one workflow at `now`: fires, skips or leaves it waiting.
  void ScheduleWorkflow(const std::string& file, const WatchedFile& watched,
                        std::chrono::sys_seconds now, std::vector<DaemonDecision>& out);
  void DecideError(std::vector<DaemonDecision>& out, const std::string& file, const Workflow& wf,
                   const std::string& what, const Status& s);
  Result<std::optional<std::chrono::sys_seconds>> LastDecidedInterval(const std::string& workflow,
                                                                      const CronSchedule& cron);
  Status SkipDropped(const std::string& file, const WatchedFile& watched, const DueIntervals& due,
                     std::vector<DaemonDecision>& out);
  void FireDue(const std::string& file, const WatchedFile& watched, const DueIntervals& due,
               std::vector<DaemonDecision>& out);
  // Creates the run and the schedules row in one transaction, then starts the run's thread.
  // Returns false (with a decision) when it could not.
  bool Fire(const std::string& file, const WatchedFile& watched, std::chrono::sys_seconds start,
            std::vector<DaemonDecision>& out);
  Status RecordSkipped(const WatchedFile& watched, std::chrono::sys_seconds start);
  Result<int> CountActiveRuns(const std::string& workflow);
  // `label` names the interval in the log line that says how the run finished.
  void StartRun(RunRequest request, std::string label);
  void JoinFinishedRuns();

  StateStore& store_;
  ArtifactStore& artifacts_;
  OperatorCatalog operators_;
  DaemonOptions options_;
  LogSink log_;
  std::mutex log_mu_;  // serializes log_

  // Used only by the ticking thread.
  std::map<std::string, WatchedFile> files_;                        // by file name
  std::map<std::string, std::chrono::sys_seconds> waiting_logged_;  // workflow -> interval
  bool folder_error_logged_ = false;
  bool stopping_ = false;

  mutable std::mutex runs_mu_;
  std::condition_variable runs_cv_;
  std::list<ActiveRun> runs_;  // guarded by runs_mu_
  std::atomic<bool> cancel_runs_{false};
};

}  // namespace reel
