// The run loop: set-up, durability (batched commits), resources, timers and cancellation.
// Step and task transitions are in scheduler_steps.cc.
#include "engine/exec/scheduler.h"

#include <sys/stat.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include <boost/asio/post.hpp>

#include "engine/base/process.h"
#include "engine/exec/internal/run_loop.h"

namespace reel {

using namespace scheduler_internal;

Scheduler::Scheduler(StateStore& store, ArtifactStore& artifacts, OperatorCatalog operators,
                     SchedulerOptions options)
    : store_(store),
      artifacts_(artifacts),
      operators_(std::move(operators)),
      options_(std::move(options)) {}

Scheduler::~Scheduler() = default;

Result<RunOutcome> Scheduler::Execute(const RunRequest& request, const std::atomic<bool>* stop) {
  RunLoop loop(store_, artifacts_, operators_, options_, request, stop);
  return loop.Run();
}

std::function<std::optional<std::string>(const std::string&)> SecretsResolver(
    const std::filesystem::path& home) {
  auto file = std::make_shared<Json>(Json::object());
  const std::filesystem::path path = home / "secrets.json";
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    // Once per process: a backfill or the daemon resolves secrets for every run.
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) {
      std::fprintf(stderr,
                   "reel: warning: %s holds secrets but other users may read or change it "
                   "(mode %04o); make it private: chmod 600 %s\n",
                   path.c_str(), static_cast<unsigned>(st.st_mode & 0777), path.c_str());
    }
  }
  std::ifstream in(path);
  if (in) {
    Json parsed = Json::parse(in, nullptr, false);
    if (parsed.is_object()) *file = parsed;
  }
  return [file](const std::string& name) -> std::optional<std::string> {
    std::string env_name = "REEL_SECRET_" + name;
    if (const char* v = std::getenv(env_name.c_str())) return std::string(v);
    auto it = file->find(name);
    if (it != file->end()) return it->is_string() ? it->get<std::string>() : it->dump();
    return std::nullopt;
  };
}

namespace scheduler_internal {

RunLoop::RunLoop(StateStore& store, ArtifactStore& artifacts, const OperatorCatalog& operators,
                 const SchedulerOptions& options, const RunRequest& request,
                 const std::atomic<bool>* stop)
    : store_(store),
      artifacts_(artifacts),
      operators_(operators),
      options_(options),
      request_(request),
      wf_(*request.workflow),
      stop_(stop),
      dag_(Dag::FromWorkflow(*request.workflow)),
      tracker_(dag_),
      work_(asio::make_work_guard(io_)),
      heartbeat_timer_(io_),
      stop_timer_(io_),
      commit_timer_(io_),
      signals_(io_),
      slurm_timer_(io_) {
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  max_parallel_ = options_.max_parallel > 0 ? options_.max_parallel : cores;
  cpus_total_ = options_.cpus > 0 ? options_.cpus : cores;
  pool_size_ = wf_.pools;
  for (const auto& [name, size] : options_.pools) pool_size_[name] = size;
  if (!wf_.file.empty()) {
    std::error_code ec;
    workflow_dir_ = std::filesystem::absolute(wf_.file, ec).parent_path();
  }
  uint64_t seed = options_.jitter_seed;
  if (seed == 0) seed = std::hash<std::string>{}(request_.run_id);
  jitter_.seed(seed);
  steps_.resize(wf_.steps.size());
  // Which step outputs each step's templates read, so that a task's scope carries only those.
  for (size_t i = 0; i < wf_.steps.size(); ++i) {
    const OperatorInfo* info = operators_.find ? operators_.find(wf_.steps[i].op) : nullptr;
    const Step& def = wf_.steps[i];
    steps_[i].slurm =
        (options_.executor && !def.executor_set ? *options_.executor : def.executor) ==
        ExecutorKind::kSlurm;
    // On Slurm every step is a job, even one that would run on the loop thread.
    steps_[i].runs_inline = info != nullptr && info->runs_inline && !steps_[i].slurm;
    std::string with = wf_.steps[i].with.dump();
    steps_[i].templated = ContainsTemplate(with);
    std::string text =
        with + wf_.steps[i].when + (wf_.steps[i].foreach ? wf_.steps[i].foreach->dump() : "");
    size_t pos = 0;
    while ((pos = text.find("steps.", pos)) != std::string::npos) {
      pos += 6;
      size_t end = pos;
      while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) ||
                                   text[end] == '_' || text[end] == '-')) {
        ++end;
      }
      steps_[i].referenced_steps.insert(text.substr(pos, end - pos));
    }
  }
}

Status RunLoop::CheckResources() const {
  for (size_t i = 0; i < wf_.steps.size(); ++i) {
    const Step& step = wf_.steps[i];
    if (steps_[i].slurm && !FindProgram("sbatch").ok()) {
      return Status::InvalidArgument(
          "step '" + step.name +
          "' runs on Slurm, but sbatch is not on the PATH: install Slurm's client commands "
          "(sbatch, squeue, sacct, scancel) where reel runs, or run it with --executor local");
    }
    // Slurm places a job's cpus and gpus; only pools limit it here.
    if (!steps_[i].slurm && step.resources.gpus > options_.gpus) {
      return Status::InvalidArgument(
          "step '" + step.name + "' needs " + std::to_string(step.resources.gpus) + " gpu(s) but " +
          std::to_string(options_.gpus) + " are available; pass --gpus N");
    }
    if (!steps_[i].slurm && step.resources.cpus > cpus_total_) {
      return Status::InvalidArgument("step '" + step.name + "' needs " +
                                     std::to_string(step.resources.cpus) + " cpus but only " +
                                     std::to_string(cpus_total_) + " are available; pass --cpus N");
    }
    if (!step.resources.pool.empty() && !pool_size_.count(step.resources.pool)) {
      return Status::InvalidArgument("step '" + step.name + "' uses pool '" + step.resources.pool +
                                     "', which has no size; declare it under pools: or pass "
                                     "--pool " +
                                     step.resources.pool + "=N");
    }
  }
  return Status::Ok();
}

Result<RunOutcome> RunLoop::Run() {
  REEL_RETURN_IF_ERROR(CheckResources());
  outcome_.run_id = request_.run_id;
  Status created = store_.Transaction([&]() -> Status {
    if (request_.claim) REEL_RETURN_IF_ERROR(request_.claim(store_));
    if (!request_.run_record_exists) {
      RunRecord run;
      run.run_id = request_.run_id;
      run.workflow = wf_.name;
      run.version_hash = request_.version_hash;
      run.params = request_.params;
      run.logical_date = request_.logical_date;
      run.trigger = request_.trigger;
      run.origin_run_id = request_.origin_run_id;
      run.tags = request_.tags;
      run.note = request_.note;
      run.status = RunStatus::kQueued;
      REEL_RETURN_IF_ERROR(store_.CreateRun(run));
    }
    return store_.UpdateRunStatus(request_.run_id, RunStatus::kRunning);
  });
  if (!created.ok()) return created;
  if (options_.observer) options_.observer->OnRunStarted(request_.run_id, wf_.steps.size());

  BlockChildExitSignal();  // before the pool's threads exist, so that they inherit the mask
  pool_ = std::make_unique<asio::thread_pool>(static_cast<size_t>(max_parallel_));
  // Tasks of steps without foreach exist from the start, so `reel show` lists them queued.
  for (size_t s = 0; s < wf_.steps.size(); ++s) {
    if (!wf_.steps[s].foreach) AddTask(static_cast<int>(s), -1, nullptr, TaskStatus::kQueued);
  }
  for (int root : tracker_.Roots()) StepReady(root);
  if (wf_.steps.empty()) FinishRun();
  Commit();
  StartTimers();
  io_.run();

  inbox_->Close();
  if (slurm_thread_) slurm_thread_->join();  // a last scancel
  if (abandoned_ == 0) {
    pool_->join();
  } else {
    // An operator that ignored cancellation still holds a worker thread; the process is about
    // to report the run and exit, so the pool is left to the operating system.
    pool_->stop();
    (void)pool_.release();
  }
  if (!store_error_.ok()) return store_error_;
  return outcome_;
}

void RunLoop::StartTimers() {
  if (finished_) return;
  if (options_.handle_signals) {
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;  // operation_aborted: the run finished
      Cancel(sig == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)");
      Commit();
    });
  }
  heartbeat_fn_ = [this] {
    heartbeat_timer_.expires_after(options_.heartbeat);
    heartbeat_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || finished_) return;
      Status beat = store_.Heartbeat(request_.run_id);
      if (beat.code() == Status::Code::kConflict) {
        // Another process declared this one gone and took the run: stop its tasks now. Every
        // later write for the run fails the same way, so nothing of it is recorded.
        if (store_error_.ok()) store_error_ = beat;
        if (!cancelling_) Cancel(beat.message());
        Commit();
        return;
      }
      if (!cancelling_ && store_.CancelRequested(request_.run_id)) {
        Cancel("cancelled by `reel cancel`");
        Commit();
      }
      heartbeat_fn_();
    });
  };
  heartbeat_fn_();
  if (stop_) {
    stop_fn_ = [this] {
      stop_timer_.expires_after(std::chrono::milliseconds(100));
      stop_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || finished_) return;
        if (!cancelling_ && stop_->load()) {
          Cancel("stopped");
          Commit();
        }
        stop_fn_();
      });
    };
    stop_fn_();
  }
}

bool RunLoop::Fits(const Step& step, bool slurm) const {
  if (!slurm) {
    if (running_ >= max_parallel_) return false;
    if (cpus_used_ + step.resources.cpus > cpus_total_ + 1e-9) return false;
    if (gpus_used_ + step.resources.gpus > options_.gpus) return false;
  }
  if (!step.resources.pool.empty()) {
    auto used = pool_used_.find(step.resources.pool);
    int in_use = used == pool_used_.end() ? 0 : used->second;
    if (in_use + 1 > pool_size_.at(step.resources.pool)) return false;
  }
  return true;
}

void RunLoop::Acquire(const Step& step, int sign, bool slurm) {
  if (!slurm) {
    running_ += sign;
    cpus_used_ += sign * step.resources.cpus;
    gpus_used_ += sign * step.resources.gpus;
  }
  if (!step.resources.pool.empty()) pool_used_[step.resources.pool] += sign;
}

void RunLoop::Write(std::function<Status()> write) { writes_.push_back(std::move(write)); }

void RunLoop::Launch(std::function<void()> launch) { launches_.push_back(std::move(launch)); }

void RunLoop::LaunchEarly(std::function<void()> launch) {
  early_launches_.push_back(std::move(launch));
}

// Writes that nothing waits for (a finished attempt whose step has no dependents ready yet,
// an attempt that started early) may wait this long to share a transaction.
constexpr std::chrono::milliseconds kGroupCommitDelay{2};

void RunLoop::Commit() {
  // Tasks whose readiness is already durable start at once; when nothing else waits, their
  // writes join the group commit below instead of forcing a transaction each.
  while (launches_.empty() && !early_launches_.empty()) {
    auto early = std::move(early_launches_);
    early_launches_.clear();
    for (auto& launch : early) launch();
  }
  if (launches_.empty() && early_launches_.empty() && !writes_.empty() && !finished_ &&
      !cancelling_) {
    if (!commit_armed_) {
      commit_armed_ = true;
      commit_timer_.expires_after(kGroupCommitDelay);
      commit_timer_.async_wait([this](const boost::system::error_code&) {
        commit_armed_ = false;
        CommitNow();
      });
    }
    if (options_.observer) options_.observer->Flush();
    return;
  }
  CommitNow();
}

void RunLoop::CommitNow() {
  // Inline operators finish inside their launch and queue more writes and launches: go on
  // until the run is quiet, one transaction per round.
  while (!writes_.empty() || !launches_.empty() || !early_launches_.empty()) {
    // Tasks that were ready before this round need not wait for its transaction.
    auto early = std::move(early_launches_);
    early_launches_.clear();
    for (auto& launch : early) launch();
    if (!writes_.empty()) {
      auto writes = std::move(writes_);
      writes_.clear();
      Status s = store_.Transaction([&]() -> Status {
        for (auto& w : writes) REEL_RETURN_IF_ERROR(w());
        return Status::Ok();
      });
      if (!s.ok() && store_error_.ok()) {
        store_error_ =
            Status::Internal("cannot record the run's progress in reel.db: " + s.message());
        // Nothing more may start: stop the run.
        launches_.clear();
        Cancel(store_error_.message());
      }
    }
    ++commit_round_;
    auto launches = std::move(launches_);
    launches_.clear();
    for (auto& launch : launches) launch();
  }
  if (options_.observer) options_.observer->Flush();
}

void CompletionInbox::Post(Completion completion) {
  std::lock_guard<std::mutex> lock(mu_);
  if (loop_ != nullptr) loop_->PostCompletion(std::move(completion));
}

void CompletionInbox::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  loop_ = nullptr;
}

void RunLoop::PostCompletion(Completion completion) {
  bool post = false;
  {
    std::lock_guard<std::mutex> lock(completions_mu_);
    completions_.push_back(std::move(completion));
    if (!drain_posted_) {
      drain_posted_ = true;
      post = true;
    }
  }
  if (post) asio::post(io_, [this] { Drain(); });
}

void RunLoop::Drain() {
  std::vector<Completion> batch;
  {
    std::lock_guard<std::mutex> lock(completions_mu_);
    batch.swap(completions_);
    drain_posted_ = false;
  }
  for (const auto& c : batch) HandleCompletion(c);
  Pump();
  Commit();
}

void RunLoop::Cancel(const std::string& reason) {
  if (cancelling_ || finished_) return;
  cancelling_ = true;
  cancel_reason_ = reason;
  std::vector<std::string> cancel_jobs;
  for (size_t i = 0; i < tasks_.size(); ++i) {
    Task& t = tasks_[i];
    if (t.running) {
      if (t.ctx) {
        t.ctx->Warn("cancelling: {}", reason);
        t.ctx->token().Cancel();
      }
      if (t.process) {  // SIGTERM, then SIGKILL after the step's grace: it always ends
        StopProcess(t.process);
        continue;
      }
      if (t.slurm) {
        if (t.job_id.empty()) {
          t.job_cancel = true;  // scancel once sbatch returns its id
        } else {
          cancel_jobs.push_back(t.job_id);
        }
      }
      // Give the operator kill_grace to stop (a job, Slurm's KillWait more), then stop waiting.
      t.timer = std::make_unique<asio::steady_timer>(
          io_, t.slurm ? std::max<Millis>(options_.kill_grace, std::chrono::seconds(60))
                       : options_.kill_grace);
      uint64_t generation = t.generation;
      t.timer->async_wait([this, i, generation](const boost::system::error_code& ec) {
        if (ec || tasks_[i].generation != generation || !tasks_[i].running) return;
        Abandon(i, AttemptStatus::kCancelled,
                "cancelled: " + cancel_reason_ +
                    " (the operator did not stop within the grace period)");
        Pump();
        Commit();
      });
    } else if (t.status == TaskStatus::kQueued && t.timer) {
      // Waiting for a retry.
      t.timer->cancel();
      t.timer.reset();
      SetTaskStatus(i, TaskStatus::kCancelled, reason);
      FinishTask(i);
    }
  }
  CancelSlurmJobs(cancel_jobs);  // one scancel for all of them
  // Tasks waiting for a slot.
  auto pending = std::move(pending_);
  pending_.clear();
  for (size_t i : slurm_pending_) pending.push_back(i);
  slurm_pending_.clear();
  for (size_t i : pending) {
    SetTaskStatus(i, TaskStatus::kCancelled, reason);
    FinishTask(i);
  }
}

std::string RunLoop::StepDir(const Task& task) const {
  const std::string& step = wf_.steps[static_cast<size_t>(task.step)].name;
  return task.item_index < 0 ? step : step + "." + std::to_string(task.item_index);
}

void RunLoop::Notify(const Task& task, const std::string& detail) {
  if (options_.observer) {
    options_.observer->OnTaskChanged(task.label, task.status, task.attempt, detail);
  }
}

}  // namespace scheduler_internal
}  // namespace reel
