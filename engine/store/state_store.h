// The durable record of everything reel runs: <home>/reel.db (SQLite, WAL).
//
// Core schema (kStateStoreSchema in state_store_schema.h, migration 1; home/schema.cc lists every
// migration and says how to add one):
//
//   workflows(name, version_hash, yaml, created_at)        PK(name, version_hash)
//       One row per distinct YAML text of a workflow; version_hash = SHA-256 of the text.
//   runs(run_id PK, workflow, version_hash, params JSON, logical_date 'YYYY-MM-DD' | NULL,
//        status, trigger, origin_run_id, created_at, started_at, ended_at, host, pid,
//        heartbeat_at, error, cancel_requested_at, owner, pid_start)
//       status:  queued | running | succeeded | failed | cancelled
//       trigger: manual | resume | backfill | schedule
//       origin_run_id: the run a resume reuses tasks from. host/pid: the reel process that
//       executes the run; heartbeat_at: when that process last said it was alive.
//       owner: the token of the store that executes the run; writes for the run from any
//       other store fail (a reaper replaces it when it declares the process gone).
//       pid_start: ProcessStartId(pid), which tells the live process from a reused pid.
//       cancel_requested_at: set by `reel cancel`, polled by the executing process.
//       note: free text given at `reel run --note` (migration 6).
//   run_tags(run_id, key, value)  PK(run_id, key)       `reel run --tag KEY=VALUE` (migration 6)
//   tasks(task_id INTEGER PK, run_id, step, item_index, item JSON, status, attempts,
//         outputs JSON, started_at, ended_at, error, reused_from)  UNIQUE(run_id, step, item_index)
//       One row per step instance: item_index is the foreach position, -1 outside foreach.
//       status: queued | running | succeeded | failed | skipped | upstream_failed | cancelled
//       attempts: the highest attempt number started. reused_from: the origin run's task_id
//       when a resume reused its result instead of running it again.
//   attempts(task_id, attempt, status, started_at, ended_at, error, exit_code, log_path,
//            host, pid, executor, job_name, job_id, job_state)  PK(task_id, attempt); attempt
//       is 1-based.
//       status: running | succeeded | failed | timed_out | cancelled
//       executor: local | slurm (migration 7); job_*: the attempt's Slurm job (AttemptRecord)
//   artifacts(id, run_id, task_id NULL, name, uri 'sha256:<hex>', size, created_at)
//   metrics(id, run_id, task_id NULL, key, value REAL, step (-1 single-valued), at)
//   events(id, run_id NULL, kind, payload JSON, at)     an audit log ("model.promoted", ...)
//
// Times are milliseconds since the Unix epoch, UTC (NowMillis); callers render them with
// FormatMillisIso. Deleting a run cascades to its tasks, attempts, artifacts, metrics and
// events. Foreign keys are enforced.
//
// Concurrency: several processes may open the same home; every write is a BEGIN IMMEDIATE
// transaction that waits for the others (see engine/store/sqlite.h), so "database is locked" never
// reaches a caller unless another process holds the lock for minutes. A StateStore object is
// thread-safe; its calls are serialized on one connection.
//
// Modules above the store own tables of their own: each keeps its migration's SQL, home/schema.cc
// numbers them in one list, and they reach their tables through db(): the model registry
// (models/registry.h) and the daemon's schedule state (engine/schedule/schedule_store.h) do so.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/store/sqlite.h"
#include "engine/store/states.h"
#include "reel/status.h"

namespace reel {

using Json = nlohmann::json;

// Empty strings and std::nullopt are stored as NULL and read back as such.
struct RunRecord {
  std::string run_id;
  std::string workflow;
  std::string version_hash;
  Json params = Json::object();
  std::string logical_date;  // YYYY-MM-DD, empty when the run has none
  RunStatus status = RunStatus::kQueued;
  RunTrigger trigger = RunTrigger::kManual;
  std::string origin_run_id;
  int64_t created_at = 0;  // 0: CreateRun fills in now
  std::optional<int64_t> started_at;
  std::optional<int64_t> ended_at;
  std::string host;                     // empty: CreateRun fills in this host
  int64_t pid = 0;                      // 0: CreateRun fills in this process
  std::optional<int64_t> heartbeat_at;  // nullopt: CreateRun fills in now
  std::string error;
  std::optional<int64_t> cancel_requested_at;
  std::string owner;      // empty: CreateRun fills in this store's owner_token()
  std::string pid_start;  // empty: CreateRun fills in ProcessStartId(pid)
  // Set when the run is created (`reel run --tag K=V --note TEXT`); ReadRun/ListRuns fill
  // them in.
  std::map<std::string, std::string> tags;
  std::string note;
};

struct TaskRecord {
  int64_t task_id = 0;  // assigned by CreateTask
  std::string run_id;
  std::string step;
  int64_t item_index = -1;
  Json item;  // null outside foreach
  TaskStatus status = TaskStatus::kQueued;
  int attempts = 0;
  Json outputs = Json::object();
  std::optional<int64_t> started_at;
  std::optional<int64_t> ended_at;
  std::string error;
  std::optional<int64_t> reused_from;
  // Set for a task of a `cache: true` step: its cache key and the parts it was made of.
  std::string cache_key;
  Json cache_parts;
  // Set when the task was completed from the cache: whose result it reused.
  std::optional<int64_t> cache_from_task;
  std::string cache_from_run;
};

struct AttemptRecord {
  int64_t task_id = 0;
  int attempt = 1;
  AttemptStatus status = AttemptStatus::kRunning;
  int64_t started_at = 0;  // 0: StartAttempt fills in now
  std::optional<int64_t> ended_at;
  std::string error;
  std::optional<int> exit_code;
  std::string log_path;
  std::string host;  // empty: StartAttempt fills in this host
  int64_t pid = 0;   // 0: StartAttempt fills in this process
  // Where it ran (migration 7): "local" or "slurm". A Slurm attempt records the name its job
  // was submitted under, then the job's id ("ID", or "ID_INDEX" for an array task) before the
  // engine waits on it, and the state Slurm gave the job when the engine collected its result
  // (COMPLETED, FAILED, TIMEOUT, ...). A job_state still empty means nobody collected the job:
  // a resumed run re-attaches to it (see engine/exec/slurm.h).
  std::string executor = "local";
  std::string job_name;
  std::string job_id;
  std::string job_state;
};

struct ArtifactRecord {
  std::string run_id;
  std::optional<int64_t> task_id;
  std::string name;
  std::string uri;
  int64_t size = 0;
  int64_t created_at = 0;  // 0: now
  std::string step;        // filled in by GetArtifacts from the task; ignored by AddArtifact
};

struct MetricRecord {
  std::string run_id;
  std::optional<int64_t> task_id;
  std::string key;
  double value = 0;       // NaN is stored as NULL and read back as NaN
  int64_t step = -1;      // position in a series (an epoch); -1 when single-valued
  int64_t at = 0;         // 0: now
  std::string task_step;  // filled in by GetMetrics from the task; ignored by AddMetric
};

// A succeeded task whose result a task with the same cache key may reuse.
struct CachedTask {
  int64_t task_id = 0;  // the task that ran (not a cached copy of it)
  std::string run_id;   // its run
  Json outputs = Json::object();
  std::vector<ArtifactRecord> artifacts;
  std::vector<MetricRecord> metrics;
};

struct EventRecord {
  int64_t id = 0;      // assigned by AddEvent
  std::string run_id;  // empty: not about one run
  std::string kind;
  Json payload = Json::object();
  int64_t at = 0;  // 0: now
};

struct RunFilter {
  std::optional<std::string> workflow;
  std::optional<RunStatus> status;
  std::optional<std::string> logical_date;
  std::optional<RunTrigger> trigger;
  std::map<std::string, std::string> tags;  // every one must match
  int limit = 50;                           // <= 0: no limit
};

class StateStore {
 public:
  // Creates `home` and reel.db if missing, applies the pending migrations of `schema` (the
  // whole list of reel.db's migrations, as home/schema.cc assembles it: OpenStateStore there
  // passes it).
  static Result<std::unique_ptr<StateStore>> Open(const std::filesystem::path& home,
                                                  std::span<const Migration> schema,
                                                  Database::Options options = {});

  // Runs `body` as one durable transaction. Store calls inside it join it; a nested
  // Transaction is a savepoint (its failure undoes only its own writes). Other threads'
  // store calls wait until it ends, so `body` must not wait for them.
  Status Transaction(const std::function<Status()>& body);

  // Records the YAML text of a workflow; returns its version hash. Idempotent.
  Result<std::string> PutWorkflowVersion(const std::string& name, const std::string& yaml);
  Result<std::string> GetWorkflowYaml(const std::string& name, const std::string& version_hash);

  // Inserts a run (run_id from NewRunId()). AlreadyExists if the id is taken.
  Status CreateRun(const RunRecord& run);
  // Sets the status; 'running' sets started_at (once), a terminal status sets ended_at.
  // `error` replaces the stored error when given.
  //
  // Ownership: a run belongs to the store that created it (its owner_token). This and every
  // other write for a run (Heartbeat, CreateTask, UpdateTask, StartAttempt, FinishAttempt,
  // AddArtifact, AddMetric) first checks, in the same transaction, that the run still belongs
  // to this store, and fails with Conflict when a reaper has taken it away (ReapOrphanedRuns):
  // a process that lost its run stops instead of overwriting what others decided.
  Status UpdateRunStatus(const std::string& run_id, RunStatus status,
                         std::optional<std::string> error = {});
  Status Heartbeat(const std::string& run_id);
  // Heartbeats every queued or running run this process (host, pid) executes.
  Status HeartbeatProcess();

  // Inserts a task; returns its task_id. AlreadyExists for a duplicate (run, step, item).
  Result<int64_t> CreateTask(const TaskRecord& task);
  // Sets the status; 'running' sets started_at (once), a terminal status sets ended_at.
  // Non-null `outputs` and given `error` replace the stored ones.
  Status UpdateTask(int64_t task_id, TaskStatus status, const Json* outputs = nullptr,
                    std::optional<std::string> error = {});

  // Inserts an attempt and raises the task's `attempts` to attempt.attempt.
  Status StartAttempt(const AttemptRecord& attempt);
  Status FinishAttempt(int64_t task_id, int attempt, AttemptStatus status,
                       const std::string& error = "", std::optional<int> exit_code = {},
                       const std::string& job_state = "");
  // Records the Slurm job id of a started attempt, once sbatch returned it.
  Status SetAttemptJob(int64_t task_id, int attempt, const std::string& job_id);

  Status AddArtifact(const ArtifactRecord& artifact);
  Status AddMetric(const MetricRecord& metric);

  // Caching. The latest succeeded task with cache key `key` (excluding run `except_run`), with
  // what it produced; nullopt when none.
  Result<std::optional<CachedTask>> FindCachedTask(const std::string& key,
                                                   const std::string& except_run);
  // Records a task's cache key and parts (a miss, before it runs).
  Status SetTaskCacheKey(int64_t task_id, const std::string& key, const Json& parts);
  // Completes a task from `from`: succeeded with its outputs, its artifacts and metrics copied,
  // and the key, parts and origin recorded.
  Status CompleteFromCache(int64_t task_id, const std::string& key, const Json& parts,
                           const CachedTask& from);
  // The latest task of `step` (and `item_index`) in an earlier run of `workflow` that has a
  // cache key, created before task `before_task_id`; what `reel explain` compares with.
  Result<std::optional<TaskRecord>> PreviousKeyedTask(const std::string& workflow,
                                                      const std::string& step, int64_t item_index,
                                                      int64_t before_task_id);
  Result<int64_t> AddEvent(const EventRecord& event);

  // Newest first.
  Result<std::vector<RunRecord>> ListRuns(const RunFilter& filter);
  // By full id or by a unique prefix. NotFound / InvalidArgument (ambiguous) say what to do.
  Result<RunRecord> GetRun(const std::string& run_id_or_prefix);
  // In creation order.
  Result<std::vector<TaskRecord>> GetTasks(const std::string& run_id);
  Result<TaskRecord> GetTask(int64_t task_id);
  Result<std::vector<AttemptRecord>> GetAttempts(int64_t task_id);
  Result<std::vector<AttemptRecord>> GetRunAttempts(const std::string& run_id);
  // Ordered by task, key, step.
  Result<std::vector<MetricRecord>> GetMetrics(const std::string& run_id);
  Result<std::vector<ArtifactRecord>> GetArtifacts(const std::string& run_id);
  // The distinct artifact uris of every run that start with `prefix`, sorted; at most `limit`.
  Result<std::vector<std::string>> FindArtifactUris(const std::string& prefix, int limit = 6);
  // Oldest first.
  Result<std::vector<EventRecord>> GetEvents(const std::string& run_id);
  // Newest first, all runs; `kind` empty means every kind.
  Result<std::vector<EventRecord>> ListEvents(const std::string& kind, int limit = 100);

  // Marks as failed the queued/running runs whose reel process is gone: on this host with a
  // pid that no longer exists, or (any host) with no heartbeat for longer than `stale`. Runs
  // of this very process are never reaped. Their running tasks and attempts become failed
  // too, and a "run.reaped" event is recorded. Returns the reaped run ids.
  Result<std::vector<std::string>> ReapOrphanedRuns(std::chrono::milliseconds stale);

  // Records that `run_id` should be cancelled; the executing process polls CancelRequested.
  // NotFound for an unknown run, Conflict if it has already finished.
  Status RequestCancel(const std::string& run_id);
  // False also when the store cannot be read (the caller polls again).
  bool CancelRequested(const std::string& run_id);

  // Claims, each checked inside the transaction that creates the run claiming it (see
  // RunRequest::claim): Conflict, saying who has it, when another process got there first.
  //
  // The latest run of `workflow` for `logical_date` is still `expected_latest_run_id` (empty:
  // there is none), as when the caller decided to run the date.
  Status ClaimLogicalDate(const std::string& workflow, const std::string& logical_date,
                          const std::string& expected_latest_run_id);
  // No other resume of `origin_run_id` is queued or running, and, unless `again` (a resume
  // that asks to run steps again, `--from`), none has succeeded either.
  Status ClaimResume(const std::string& origin_run_id, bool again = false);

  // The token that marks the runs this store executes: host, pid and a random part.
  const std::string& owner_token() const { return owner_token_; }
  const std::filesystem::path& home() const { return home_; }
  Database& db() { return *db_; }

 private:
  StateStore(std::filesystem::path home, std::unique_ptr<Database> db);
  // A single write: joins an open transaction, else runs in its own.
  Status Write(const std::function<Status()>& body);
  // UpdateRunStatus without the ownership check, for cancelling and reaping others' runs.
  Status SetRunStatus(const std::string& run_id, RunStatus status,
                      std::optional<std::string> error);
  // Ok when the run (of the task) belongs to this store or to nobody; Conflict otherwise.
  Status CheckOwner(const std::string& run_id);
  Status CheckTaskOwner(int64_t task_id);
  Status CheckOwnerRow(const std::string& run_id, const std::string& owner,
                       const std::string& error) const;
  // Fills in run.tags from run_tags.
  Status ReadTags(RunRecord& run);

  std::filesystem::path home_;
  std::unique_ptr<Database> db_;
  std::string owner_token_;
};

// Milliseconds since the Unix epoch (UTC).
int64_t NowMillis();
// "2026-11-29T03:15:00.123Z"; without millis "2026-11-29T03:15:00Z".
std::string FormatMillisIso(int64_t ms, bool with_millis = true);
// A run id sortable by creation time, unique, short: "20261129T031500-3f9a1c" (UTC time and
// random hex; ids made by one process within the same second count upwards).
std::string NewRunId();

}  // namespace reel
