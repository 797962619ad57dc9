// Attempts of Slurm steps (engine/exec/slurm.h): each attempt is a job folder
// (engine/exec/job_spec.h) and a job, or a task of its step's job array. The attempt's start,
// with the job's name, is committed before sbatch runs, and its job id right after, before the
// run waits on it; one squeue call per poll then watches every job of the run. Commands run on
// a thread of their own, never on the loop.
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "engine/base/fsutil.h"
#include "engine/base/process.h"
#include "engine/exec/internal/run_loop.h"
#include "engine/exec/job_spec.h"

namespace reel::scheduler_internal {
namespace {

std::filesystem::path ReelBinary(const std::filesystem::path& configured) {
  if (!configured.empty()) return configured;
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path("reel") : self;
}

// A Slurm job array holds at most MaxArraySize - 1 as its highest index (1000 by default).
constexpr size_t kMaxArrayTasks = 1000;

}  // namespace

SlurmClient& RunLoop::Slurm() {
  if (!slurm_) {
    // A job inherits sbatch's environment (--export=ALL): never the engine's secrets, which
    // Slurm would keep in its spool. The job's spec hands the step those it references.
    slurm_ = std::make_unique<SlurmClient>(std::map<std::string, std::string>{},
                                           std::vector<std::string>{"REEL_SECRET_*"});
    // sbatch calls overlap (a run of many single jobs submits them side by side); polls never
    // do (slurm_poll_running_).
    slurm_thread_ = std::make_unique<asio::thread_pool>(8);
    slurm_interval_ = options_.slurm.poll_min;
  }
  return *slurm_;
}

void RunLoop::PostToSlurm(std::function<void()> work) {
  Slurm();
  asio::post(*slurm_thread_, std::move(work));
}

// Called by StartAttempt once the attempt's start (and its job's name) is queued for the
// store: the job is written and submitted after that transaction.
void RunLoop::StartSlurmAttempt(size_t index) {
  Slurm();
  ++slurm_jobs_;
  Launch([this, index, generation = tasks_[index].generation] {
    Task& t = tasks_[index];
    if (t.generation != generation || !t.running) return;
    if (!t.adopted) {
      WriteSlurmJob(index, generation);
    } else if (t.job_id.empty()) {
      FindAdoptedJob(index, generation);
    } else {
      t.ctx->Info("re-attached to Slurm job {} of run {}", t.job_id, request_.origin_run_id);
      WatchSlurmJob(index);
      ArmSlurmPoll();
    }
  });
}

void RunLoop::WriteSlurmJob(size_t index, uint64_t generation) {
  Task& t = tasks_[index];
  const Step& step = wf_.steps[static_cast<size_t>(t.step)];
  const std::filesystem::path home = std::filesystem::absolute(store_.home());
  JobSpec spec;
  spec.op = step.op;
  spec.plugins = wf_.plugins;
  spec.plugins.insert(spec.plugins.end(), options_.slurm.plugins.begin(),
                      options_.slurm.plugins.end());
  spec.identity = {.run_id = request_.run_id,
                   .workflow = wf_.name,
                   .step = step.name,
                   .logical_date = request_.logical_date,
                   .item = t.item,
                   .item_index = t.item_index,
                   .attempt = t.attempt};
  spec.config = t.ctx->config();
  spec.params = request_.params;
  spec.upstream_outputs = t.ctx->upstream_outputs();
  spec.upstream_artifacts = t.ctx->upstream_artifacts();
  spec.home = home;
  spec.work_dir = home / "work" / request_.run_id / StepDir(t);
  spec.log_path = std::filesystem::absolute(t.ctx->log_file());
  spec.workflow_dir = workflow_dir_;
  spec.declared_outputs = step.outputs;
  spec.declared_artifacts = step.artifacts;
  spec.secrets = t.job_secrets;
  for (const auto& name : t.ctx->secret_variables()) {
    if (const char* value = std::getenv(name.c_str())) spec.secret_env[name] = value;
  }
  spec.log_max_bytes = options_.log_max_bytes;
  Status written = WriteJobSpec(t.job_dir, spec);
  if (written.ok() && !(t.item_index >= 0 && t.attempt == 1)) {
    written = WriteFileAtomic(t.job_dir / "job.sh",
                              "#!/bin/sh\n# One attempt of step " + t.label + " of reel run " +
                                  request_.run_id + ".\nexec " +
                                  ShellQuote(ReelBinary(options_.slurm.reel_binary).string()) +
                                  " task-exec " + ShellQuote(t.job_dir.string()) + "\n",
                              0755);
  }
  if (!written.ok()) {
    PostCompletion({index, generation,
                    Status::IoError("cannot write the Slurm job's folder: " + written.message())});
    return;
  }
  slurm_submit_.push_back(index);
  if (!slurm_submit_posted_) {
    slurm_submit_posted_ = true;
    // After every launch of this round: the items of a foreach that became ready together
    // share one array.
    asio::post(io_, [this] { SubmitSlurmJobs(); });
  }
}

std::vector<std::string> RunLoop::SlurmSbatchArgs(const Step& step) const {
  const Resources& r = step.resources;
  std::vector<std::string> args;
  // `cpus` is what the whole step uses, as locally: each of the job's tasks gets its share.
  const int tasks = std::max(1, r.nodes * r.tasks_per_node);
  if (r.cpus > 0) {
    args.push_back(fmt::format("--cpus-per-task={}", std::ceil(r.cpus / tasks - 1e-9)));
  }
  if (!r.memory.empty()) args.push_back("--mem=" + r.memory);
  if (r.gpus > 0) args.push_back(fmt::format("--gres=gpu:{}", r.gpus));
  if (r.time) {
    args.push_back(fmt::format("--time={}", (r.time->count() + 59'999) / 60'000));
  }
  if (r.nodes != 1) args.push_back(fmt::format("--nodes={}", r.nodes));
  if (r.nodes != 1 || r.tasks_per_node != 1) {
    args.push_back(fmt::format("--ntasks-per-node={}", r.tasks_per_node));
  }
  if (!r.partition.empty()) args.push_back("--partition=" + r.partition);
  if (!r.account.empty()) args.push_back("--account=" + r.account);
  args.insert(args.end(), r.sbatch_args.begin(), r.sbatch_args.end());
  return args;
}

void RunLoop::SubmitSlurmJobs() {
  slurm_submit_posted_ = false;
  std::vector<size_t> ready = std::move(slurm_submit_);
  slurm_submit_.clear();
  // The first attempts of a foreach step's items go as job arrays; anything else alone.
  std::map<int, std::vector<size_t>> arrays;
  std::vector<std::vector<size_t>> singles;
  for (size_t i : ready) {
    const Task& t = tasks_[i];
    if (!t.running) continue;
    if (cancelling_ || t.job_cancel) {  // cancelled or timed out before sbatch: nothing to submit
      HandleCompletion(
          {i, t.generation, Status::Cancelled("stopped before its Slurm job was submitted")});
      continue;
    }
    if (t.item_index >= 0 && t.attempt == 1) {
      arrays[t.step].push_back(i);
    } else {
      singles.push_back({i});
    }
  }
  const std::string reel = ReelBinary(options_.slurm.reel_binary).string();
  auto submit = [this](std::vector<size_t> group, std::vector<std::string> args,
                       std::filesystem::path script, bool array) {
    std::vector<uint64_t> generations;
    for (size_t i : group) generations.push_back(tasks_[i].generation);
    PostToSlurm([this, group = std::move(group), args = std::move(args), script = std::move(script),
                 generations = std::move(generations), array] {
      Result<std::string> id = slurm_->Submit(args, script);
      asio::post(io_, [this, group, generations, id, array] {
        SlurmSubmitted(group, generations, id, array);
      });
    });
  };
  if (singles.empty() && arrays.empty()) {
    Pump();
    Commit();
    return;
  }
  for (auto& group : singles) {
    Task& t = tasks_[group.front()];
    const Step& step = wf_.steps[static_cast<size_t>(t.step)];
    t.job_out = t.job_dir / "slurm.out";
    std::vector<std::string> args = {"--job-name=" + t.job_name, "--output=" + t.job_out.string(),
                                     "--chdir=" + t.job_dir.string(),
                                     "--comment=" + t.job_dir.string()};
    auto more = SlurmSbatchArgs(step);
    args.insert(args.end(), more.begin(), more.end());
    submit(group, std::move(args), t.job_dir / "job.sh", false);
  }
  for (auto& [step_index, tasks] : arrays) {
    const Step& step = wf_.steps[static_cast<size_t>(step_index)];
    for (size_t begin = 0; begin < tasks.size(); begin += kMaxArrayTasks) {
      std::vector<size_t> group(tasks.begin() + static_cast<std::ptrdiff_t>(begin),
                                tasks.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                    tasks.size(), begin + kMaxArrayTasks)));
      const Task& first = tasks_[group.front()];
      // The array's folder: its manifest (line i: the job folder of array task i), its script
      // and Slurm's output files.
      std::filesystem::path dir = std::filesystem::absolute(store_.home()) / "jobs" /
                                  request_.run_id / step.name /
                                  fmt::format("array-{}", first.item_index);
      std::string manifest;
      for (size_t i : group) manifest += tasks_[i].job_dir.string() + "\n";
      Status written = MakePrivateDirs(dir);
      if (written.ok()) written = WriteFileAtomic(dir / "tasks.txt", manifest);
      if (written.ok()) {
        written = WriteFileAtomic(dir / "job.sh",
                                  "#!/bin/sh\n# The first attempts of step " + step.name +
                                      "'s items in reel run " + request_.run_id + ".\nexec " +
                                      ShellQuote(reel) + " task-exec --array-manifest " +
                                      ShellQuote((dir / "tasks.txt").string()) + "\n",
                                  0755);
      }
      if (!written.ok()) {
        for (size_t i : group) {
          PostCompletion(
              {i, tasks_[i].generation,
               Status::IoError("cannot write the Slurm job array's folder: " + written.message())});
        }
        continue;
      }
      for (size_t k = 0; k < group.size(); ++k) {
        tasks_[group[k]].job_out = dir / fmt::format("slurm-{}.out", k);
      }
      std::string range = fmt::format("--array=0-{}", group.size() - 1);
      if (step.resources.max_parallel > 0) range += fmt::format("%{}", step.resources.max_parallel);
      std::vector<std::string> args = {range, "--job-name=" + first.job_name,
                                       "--output=" + (dir / "slurm-%a.out").string(),
                                       "--chdir=" + dir.string(), "--comment=" + dir.string()};
      auto more = SlurmSbatchArgs(step);
      args.insert(args.end(), more.begin(), more.end());
      submit(std::move(group), std::move(args), dir / "job.sh", true);
    }
  }
}

void RunLoop::SlurmSubmitted(const std::vector<size_t>& group,
                             const std::vector<uint64_t>& generations,
                             const Result<std::string>& job_id, bool array) {
  std::vector<std::string> orphans;
  for (size_t k = 0; k < group.size(); ++k) {
    size_t index = group[k];
    Task& t = tasks_[index];
    bool current = t.generation == generations[k] && t.running;
    if (!job_id.ok()) {
      if (current) {
        t.job_state = "NOT_SUBMITTED";
        HandleCompletion({index, generations[k], job_id.status()});
      }
      continue;
    }
    std::string id = array ? fmt::format("{}_{}", *job_id, k) : *job_id;
    if (!current) {  // its attempt was abandoned meanwhile: the job must not run unwatched
      orphans.push_back(id);
      continue;
    }
    t.job_id = id;
    t.ctx->Info("submitted as Slurm job {}", id);
    Write([this, index, attempt = t.attempt, id]() -> Status {
      return store_.SetAttemptJob(tasks_[index].task_id, attempt, id);
    });
    if (t.job_cancel) orphans.push_back(id);
    WatchSlurmJob(index);
  }
  CancelSlurmJobs(orphans);
  Pump();
  CommitNow();  // the job ids are durable before the run waits on them
  slurm_interval_ = options_.slurm.poll_min;
  ArmSlurmPoll();
}

void RunLoop::WatchSlurmJob(size_t index) { slurm_watch_.insert(index); }

// An adopted attempt whose job id never reached the store: its engine died between sbatch and
// the commit. Slurm knows the job by its name (and its folder by its comment); found, it is
// watched; not found, the job was never submitted, and is now.
void RunLoop::FindAdoptedJob(size_t index, uint64_t generation) {
  PostToSlurm([this, index, generation, name = tasks_[index].job_name] {
    auto found = slurm_->FindByName(name);
    asio::post(io_, [this, index, generation, found] {
      Task& t = tasks_[index];
      if (t.generation != generation || !t.running) return;
      std::string id;
      if (found.ok()) {
        for (const auto& [job, comment] : *found) {
          if (job.find('_') == std::string::npos) {
            if (comment == t.job_dir.string()) id = job;
            continue;
          }
          // An array task: its position in the array's manifest.
          auto manifest = ReadFileToString(std::filesystem::path(comment) / "tasks.txt");
          if (!manifest.ok()) continue;
          size_t line = 0, pos = 0;
          while (pos < manifest->size()) {
            size_t end = manifest->find('\n', pos);
            if (end == std::string::npos) end = manifest->size();
            if (manifest->compare(pos, end - pos, t.job_dir.string()) == 0) {
              if (job == fmt::format("{}_{}", BaseJobId(job), line)) id = job;
              break;
            }
            pos = end + 1;
            ++line;
          }
        }
      }
      if (id.empty()) {
        t.adopted = false;
        t.ctx->Info("no Slurm job named {} exists: submitting the attempt", t.job_name);
        WriteSlurmJob(index, generation);
        return;
      }
      t.job_id = id;
      t.ctx->Info("re-attached to Slurm job {} of run {}", id, request_.origin_run_id);
      Write([this, index, attempt = t.attempt, id]() -> Status {
        return store_.SetAttemptJob(tasks_[index].task_id, attempt, id);
      });
      WatchSlurmJob(index);
      CommitNow();
      ArmSlurmPoll();
    });
  });
}

void RunLoop::ArmSlurmPoll() {
  if (slurm_watch_.empty() || slurm_poll_armed_ || slurm_poll_running_ || finished_) return;
  slurm_poll_armed_ = true;
  slurm_timer_.expires_after(slurm_interval_);
  slurm_timer_.async_wait([this](const boost::system::error_code& ec) {
    slurm_poll_armed_ = false;
    if (ec || finished_) return;
    PollSlurm();
  });
}

// One squeue for every job the run waits on; sacct only for jobs squeue stopped listing.
void RunLoop::PollSlurm() {
  std::vector<std::string> ids;
  std::map<std::string, std::string> raw_ids;
  bool finished_too = false;
  for (size_t i : slurm_watch_) {
    ids.push_back(tasks_[i].job_id);
    if (!tasks_[i].job_raw_id.empty()) raw_ids[tasks_[i].job_id] = tasks_[i].job_raw_id;
    if (tasks_[i].job_unknown > 0) finished_too = true;
  }
  if (ids.empty()) return;
  slurm_poll_running_ = true;
  PostToSlurm([this, ids = std::move(ids), raw_ids = std::move(raw_ids), finished_too] {
    auto jobs = slurm_->Query(ids, finished_too, raw_ids);
    asio::post(io_,
               [this, jobs = std::move(jobs), finished_too] { SlurmPolled(jobs, finished_too); });
  });
}

void RunLoop::SlurmPolled(const Result<std::map<std::string, SlurmJobInfo>>& jobs,
                          bool asked_finished) {
  slurm_poll_running_ = false;
  if (finished_) return;
  bool changed = false;
  if (!jobs.ok()) {
    // slurmctld may be restarting: keep asking, less often.
    std::fprintf(stderr, "reel: warning: cannot ask Slurm for the run's jobs: %s\n",
                 jobs.status().message().c_str());
  } else {
    std::vector<size_t> watched(slurm_watch_.begin(), slurm_watch_.end());
    for (size_t i : watched) {
      Task& t = tasks_[i];
      auto it = jobs->find(t.job_id);
      if (it == jobs->end()) {
        // Neither squeue nor (asked) sacct knows it, three polls in a row.
        if (++t.job_unknown >= 3 && asked_finished) {
          CollectSlurmJob(i, {.state = "UNKNOWN",
                              .reason = "Slurm no longer knows the job (purged from squeue, "
                                        "and sacct has no record of it)"});
          changed = true;
        }
        continue;
      }
      t.job_unknown = 0;
      const SlurmJobInfo& info = it->second;
      if (!info.raw_id.empty()) t.job_raw_id = info.raw_id;
      if (info.state != t.job_seen) {
        changed = true;
        t.job_seen = info.state;
      }
      if (IsFinishedJobState(info.state)) CollectSlurmJob(i, info);
    }
  }
  slurm_interval_ =
      changed ? options_.slurm.poll_min
              : std::min<Millis>(options_.slurm.poll_max, slurm_interval_ + slurm_interval_ / 2);
  Pump();
  Commit();
  ArmSlurmPoll();
}

// The job ended: its result file says what the operator did; without one, Slurm's state and
// reason are the attempt's error (a time limit, a node failure, a preemption, scancel).
void RunLoop::CollectSlurmJob(size_t index, const SlurmJobInfo& info) {
  Task& t = tasks_[index];
  slurm_watch_.erase(index);
  t.job_state = info.state;
  Status status;
  auto result = ReadJobResult(t.job_dir);
  if (result.ok()) {
    for (const auto& [key, value] : result->outputs.items()) t.ctx->SetOutput(key, value);
    for (const auto& a : result->artifacts) t.ctx->AddStoredArtifact(a);
    for (const auto& [key, value] : result->metrics) {
      t.ctx->LogMetric(key, value.first, value.second);
    }
    for (const auto& [kind, payload] : result->events) t.ctx->RecordEvent(kind, payload);
    status = result->status;
    if (info.state != "COMPLETED" && info.state != "FAILED") {
      // Slurm stopped the job (scancel, a time limit, preemption): its state says why.
      std::string reason =
          info.reason.empty() || info.reason == "None" ? "" : " (" + info.reason + ")";
      status = status.ok() ? Status::Failed(fmt::format("Slurm job {} ended {}{} after its step "
                                                        "succeeded",
                                                        t.job_id, info.state, reason))
                           : Status::Failed(fmt::format("Slurm job {} ended {}{}: {}", t.job_id,
                                                        info.state, reason, status.message()));
    }
  } else if (result.status().code() == Status::Code::kNotFound) {
    std::string reason =
        info.reason.empty() || info.reason == "None" ? "" : " (" + info.reason + ")";
    std::string hint;
    if (info.state == "COMPLETED" || info.state == "FAILED") {
      // The job ran but wrote no result: most often the home is not shared with the node.
      std::string tail = t.job_out.empty() ? "" : ReadLogTail(t.job_out, 0, 3, 4096);
      while (!tail.empty() && tail.back() == '\n') tail.pop_back();
      hint = tail.empty() ? "; is the reel home on a filesystem the nodes share?" : ": " + tail;
    }
    status = Status::Failed(fmt::format("Slurm job {} ended {}{} without a result{}", t.job_id,
                                        info.state, reason, hint));
  } else {
    status = Status::Failed(
        fmt::format("Slurm job {} ended {}: {}", t.job_id, info.state, result.status().message()));
  }
  HandleCompletion({index, t.generation, status});
}

void RunLoop::CancelSlurmJobs(const std::vector<std::string>& job_ids) {
  if (job_ids.empty()) return;
  PostToSlurm([this, job_ids] {
    Status s = slurm_->Cancel(job_ids);
    if (!s.ok()) std::fprintf(stderr, "reel: warning: %s\n", s.message().c_str());
  });
}

}  // namespace reel::scheduler_internal
