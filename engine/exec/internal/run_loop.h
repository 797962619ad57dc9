// Internal to the scheduler: the state of one run while it executes (its "topology").
// Everything here is touched only on the io_context's thread, except the completion queue.
#pragma once

#include <deque>
#include <mutex>
#include <optional>
#include <random>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "engine/exec/process_step.h"
#include "engine/exec/scheduler.h"
#include "engine/exec/slurm.h"
#include "engine/exec/task_context.h"
#include "engine/template/template.h"
#include "engine/workflow/dag.h"

namespace reel::scheduler_internal {

namespace asio = boost::asio;

// Runs operator code: an exception it throws becomes a failed attempt with its message, on a
// worker as on the loop thread; it never takes the engine down.
template <typename F>
Status GuardOperatorCall(F&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return Status::Failed(std::string("operator threw an exception: ") + e.what());
  } catch (...) {
    return Status::Failed("operator threw an unknown exception");
  }
}

// The attempt of a process step (engine/exec/process_step.h) in flight: its exit and its output
// are watched on the loop thread, with no worker thread of its own.
struct ProcessAttempt {
  explicit ProcessAttempt(asio::io_context& io)
      : exit_watch(io), output_watch(io), grace_timer(io), quiet_timer(io) {}
  // The watches borrow the Process's fds: they must never close them.
  ~ProcessAttempt() {
    exit_watch.release();
    output_watch.release();
  }

  size_t task = 0;
  uint64_t generation = 0;
  std::shared_ptr<TaskContext> ctx;
  std::shared_ptr<Operator> op;  // owns the process; declared after ctx, which it refers to
  ProcessStep* step = nullptr;
  Process* process = nullptr;
  asio::posix::stream_descriptor exit_watch;    // the pidfd
  asio::posix::stream_descriptor output_watch;  // the output pipe
  asio::steady_timer grace_timer;               // SIGKILL when SIGTERM was not enough
  asio::steady_timer quiet_timer;               // after the exit: stop waiting for output
  uint64_t quiet_round = 0;                     // the quiet_timer arming a handler belongs to
  std::chrono::steady_clock::time_point drain_deadline;
  std::optional<Result<ProcessResult>> reaped;  // set once the child was reaped
  bool cancelled = false;                       // SIGTERM sent
  bool killed = false;                          // SIGKILL sent after the grace period
  bool finished = false;
};

struct Task {
  int step = 0;
  int64_t item_index = -1;
  Json item;
  std::vector<std::string> item_secrets;  // the secret values the item holds (foreach over one)
  std::string label;                      // "step" or "step[i]"
  int64_t task_id = 0;
  TaskStatus status = TaskStatus::kQueued;
  int attempt = 0;  // attempts started
  Json outputs = Json::object();
  Json artifacts = Json::object();     // {"name": "sha256:..."} of the succeeded attempt
  std::vector<ArtifactRef> published;  // what the last attempt to end stored, if it succeeded
  std::string error;
  std::shared_ptr<TaskContext> ctx;           // the running attempt
  std::shared_ptr<ProcessAttempt> process;    // the running attempt, when a process step's
  std::unique_ptr<asio::steady_timer> timer;  // timeout, grace or retry delay
  uint64_t generation = 0;  // bumped when an attempt is abandoned; late completions are ignored
  bool timed_out = false;
  bool running = false;
  bool inline_run = false;   // the running attempt executes on the loop thread, without a slot
  uint64_t ready_round = 0;  // the commit round in which it joined the queue
  uint64_t start_round = 0;  // the commit round whose transaction records the attempt's start
  int merged_attempt = 0;    // an attempt that ended before its start was committed: its
                             // start write is skipped, its end write inserts the whole record
  const ReusedTask* reused = nullptr;  // set when a resumed run reuses an earlier result
  int64_t started_ms = 0;
  // The running attempt's Slurm job (engine/exec/scheduler_slurm.cc); slurm false when local.
  bool slurm = false;
  bool adopted = false;  // the job was submitted by the run this one resumes
  std::string job_name, job_id, job_state;
  std::string job_seen;    // the state the last poll saw
  std::string job_raw_id;  // an array task's own job id, once squeue reported it
  std::filesystem::path job_dir;
  std::filesystem::path job_out;         // Slurm's output file of the job
  std::vector<std::string> job_secrets;  // the attempt's secret values, for the job to redact
  int job_unknown = 0;                   // polls in a row in which Slurm did not know the job
  bool job_cancel = false;               // scancel it as soon as its id is known
};

struct StepRun {
  std::vector<size_t> tasks;
  size_t unfinished = 0;
  bool finished = false;
  TaskStatus status = TaskStatus::kQueued;  // once finished: how the step as a whole ended
  std::set<std::string> referenced_steps;   // steps.NAME used by its templates
  bool runs_inline = false;  // its operator runs on the loop thread (OperatorInfo::runs_inline)
  bool slurm = false;        // its attempts run as Slurm jobs
  bool templated = true;     // its `with:` contains template expressions
};

struct Completion {
  size_t task;
  uint64_t generation;
  Status status;
};

class RunLoop;

// Where workers deliver completions. Shared with every job handed to a worker, so that a job
// outliving its run loop (an abandoned operator) finds it closed instead of freed memory.
class CompletionInbox {
 public:
  explicit CompletionInbox(RunLoop* loop) : loop_(loop) {}
  void Post(Completion completion);
  void Close();

 private:
  std::mutex mu_;
  RunLoop* loop_;  // guarded by mu_; null once closed
};

class RunLoop {
 public:
  RunLoop(StateStore& store, ArtifactStore& artifacts, const OperatorCatalog& operators,
          const SchedulerOptions& options, const RunRequest& request,
          const std::atomic<bool>* stop);
  ~RunLoop() { inbox_->Close(); }
  Result<RunOutcome> Run();

 private:
  // Step and task transitions.
  void StepReady(int step);
  // One task per item; `secrets`: those the foreach used (an item holding one is redacted).
  void ExpandStep(int step, const Json& items, const std::vector<std::string>& secrets);
  void FinishStepWithoutRunning(int step, TaskStatus status, const std::string& error);
  void AddTask(int step, int64_t item_index, Json item, TaskStatus status,
               std::vector<std::string> item_secrets = {});
  void EnqueueOrReuse(size_t task);
  // Caching (engine/exec/scheduler_cache.cc): completes the task from an earlier one with the
  // same key and returns true, or records its key and returns false.
  bool TryCache(size_t task);
  Result<Json> CacheParts(const Task& task) const;
  void Enqueue(size_t task);
  void Pump();

  // Attempts (engine/exec/scheduler_attempts.cc).
  void StartAttempt(size_t task);
  Result<Json> RenderConfig(const Task& task, std::vector<std::string>* secrets,
                            std::set<std::string>* secret_variables) const;
  void RecordAttemptStart(size_t task, std::string log_path);
  void ArmTimeout(size_t task);
  void LaunchOperator(size_t task);
  Status CreateOperator(const Step& step, std::shared_ptr<Operator>* op);
  static Status RunOperator(Operator& op, TaskContext& ctx);
  void ExecuteInline(size_t task, uint64_t generation, std::shared_ptr<TaskContext> ctx);
  friend class CompletionInbox;
  void PostCompletion(Completion completion);
  void Drain();
  void HandleCompletion(const Completion& completion);
  struct AttemptEnd {
    AttemptStatus status;
    std::string error;
  };
  AttemptEnd ClassifyAttempt(const Task& task, const Status& status) const;
  void RecordAttemptEnd(size_t task, const AttemptEnd& end, const Json& outputs, TaskContext* ctx);
  void SetTaskStatus(size_t task, TaskStatus status, const std::string& error = {},
                     const Json* outputs = nullptr);
  void FinishTask(size_t task);
  void FinishStep(int step);
  void FinishRun();
  void Cancel(const std::string& reason);
  void OnTimeout(size_t task);

  // Process steps, run on the loop thread (engine/exec/scheduler_processes.cc). StartProcess
  // returns false when `op` is not one, or the kernel offers no pidfds: it then runs on a worker.
  bool StartProcess(size_t task, uint64_t generation, std::shared_ptr<TaskContext> ctx,
                    std::shared_ptr<Operator> op);
  void WatchExit(const std::shared_ptr<ProcessAttempt>& p);
  void WatchOutput(const std::shared_ptr<ProcessAttempt>& p);
  void ReadProcessOutput(const std::shared_ptr<ProcessAttempt>& p);
  void AwaitQuietOutput(const std::shared_ptr<ProcessAttempt>& p);
  void StopProcess(const std::shared_ptr<ProcessAttempt>& p);
  void FinishProcess(const std::shared_ptr<ProcessAttempt>& p);
  void Abandon(size_t task, AttemptStatus status, const std::string& error);
  void ScheduleRetry(size_t task);

  // Slurm jobs (engine/exec/scheduler_slurm.cc).
  void StartSlurmAttempt(size_t task);
  void WriteSlurmJob(size_t task, uint64_t generation);
  void SubmitSlurmJobs();
  // sbatch returned for `group` (one job, or one array: task k is JOBID_k).
  void SlurmSubmitted(const std::vector<size_t>& group, const std::vector<uint64_t>& generations,
                      const Result<std::string>& job_id, bool array);
  void WatchSlurmJob(size_t task);
  void FindAdoptedJob(size_t task, uint64_t generation);
  void ArmSlurmPoll();
  void PollSlurm();
  void SlurmPolled(const Result<std::map<std::string, SlurmJobInfo>>& jobs, bool asked_finished);
  void CollectSlurmJob(size_t task, const SlurmJobInfo& info);
  void CancelSlurmJobs(const std::vector<std::string>& job_ids);
  std::vector<std::string> SlurmSbatchArgs(const Step& step) const;
  SlurmClient& Slurm();
  void PostToSlurm(std::function<void()> work);

  // Resources.
  bool Fits(const Step& step, bool slurm) const;
  void Acquire(const Step& step, int sign, bool slurm);
  Status CheckResources() const;

  // Durability: transitions queue writes; Commit makes them durable, then starts the tasks
  // that they made ready, until nothing is left to write or start.
  void Write(std::function<Status()> write);
  void Launch(std::function<void()> launch);
  // For a task whose readiness an earlier round already made durable: it may start before the
  // transaction that records its own start, which then follows at once.
  void LaunchEarly(std::function<void()> launch);
  // Commits at once when something waits for the transaction (a task it makes ready, the end
  // of the run); otherwise, within kGroupCommitDelay, together with what arrives meanwhile.
  void Commit();
  void CommitNow();

  TemplateScope ScopeFor(const Task& task) const;
  Json UpstreamOutputs(int step) const;
  Json UpstreamArtifacts(int step) const;
  // {"name": "sha256:..."} for `refs`.
  template <typename Refs>
  static Json ArtifactUris(const Refs& refs);
  // The same with each uri replaced by its absolute local path (null when the content is
  // missing); a list of such objects maps item by item.
  Json ArtifactPaths(const Json& uris) const;
  std::string StepDir(const Task& task) const;
  void Notify(const Task& task, const std::string& detail = {});
  void StartTimers();

  StateStore& store_;
  ArtifactStore& artifacts_;
  const OperatorCatalog& operators_;
  SchedulerOptions options_;
  const RunRequest& request_;
  const Workflow& wf_;
  const std::atomic<bool>* stop_;
  Dag dag_;
  ReadyTracker tracker_;

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::unique_ptr<asio::thread_pool> pool_;
  asio::steady_timer heartbeat_timer_;
  asio::steady_timer stop_timer_;
  asio::steady_timer commit_timer_;  // a deferred group commit
  bool commit_armed_ = false;
  asio::signal_set signals_;

  std::deque<Task> tasks_;
  std::vector<StepRun> steps_;
  std::deque<size_t> pending_;
  std::deque<size_t> slurm_pending_;  // ready tasks of Slurm steps (no local slot needed)
  // {"step": {"outputs": ..., "artifacts": ...}} of finished steps; a foreach step's are lists.
  Json step_outputs_ = Json::object();
  Json step_artifact_uris_ = Json::object();  // {"step": artifacts by uri} of finished steps
  std::filesystem::path workflow_dir_;        // the workflow file's folder, absolute
  std::vector<std::string> secret_values_;

  int running_ = 0;
  double cpus_used_ = 0;
  int gpus_used_ = 0;
  double cpus_total_ = 0;
  int max_parallel_ = 1;
  std::map<std::string, int> pool_size_, pool_used_;
  std::mt19937_64 jitter_;

  std::vector<std::function<Status()>> writes_;
  std::vector<std::function<void()>> launches_;
  std::vector<std::function<void()>> early_launches_;
  uint64_t commit_round_ = 0;  // rounds of CommitNow so far (each commits what was written)

  bool cancelling_ = false;
  bool finished_ = false;
  int abandoned_ = 0;
  std::string cancel_reason_;
  Status store_error_;
  RunOutcome outcome_;

  std::function<void()> heartbeat_fn_;
  std::function<void()> stop_fn_;

  // Slurm: sbatch, squeue and scancel run on slurm_thread_ (a few threads), never on the loop.
  std::unique_ptr<SlurmClient> slurm_;
  std::unique_ptr<asio::thread_pool> slurm_thread_;
  std::vector<size_t> slurm_submit_;  // job folders written, waiting for SubmitSlurmJobs
  bool slurm_submit_posted_ = false;
  std::set<size_t> slurm_watch_;  // tasks whose job id is recorded and not yet collected
  asio::steady_timer slurm_timer_;
  bool slurm_poll_armed_ = false;
  bool slurm_poll_running_ = false;
  Millis slurm_interval_{0};
  int slurm_jobs_ = 0;  // attempts run as Slurm jobs

  std::shared_ptr<CompletionInbox> inbox_ = std::make_shared<CompletionInbox>(this);
  std::mutex completions_mu_;
  std::vector<Completion> completions_;  // guarded by completions_mu_
  bool drain_posted_ = false;            // guarded by completions_mu_
};

}  // namespace reel::scheduler_internal
