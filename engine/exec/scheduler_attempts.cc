// Attempts of the run loop: starting one (render its config, record its start, hand its
// operator to a worker, the loop or a process) and handling its end (classify it, record it,
// then finish the task, retry it or fail it). See engine/exec/scheduler.h for the policies.
#include <cmath>

#include <boost/asio/post.hpp>
#include <fmt/format.h>

#include "engine/base/json.h"
#include "engine/base/utf8.h"
#include "engine/exec/internal/run_loop.h"
#include "engine/exec/job_spec.h"
#include "engine/workflow/config_schema.h"

namespace reel::scheduler_internal {

// --- Starting an attempt --------------------------------------------------------------------

void RunLoop::StartAttempt(size_t index) {
  Task& t = tasks_[index];
  const Step& step = wf_.steps[static_cast<size_t>(t.step)];
  t.attempt++;
  t.timed_out = false;
  t.running = true;
  t.inline_run = steps_[static_cast<size_t>(t.step)].runs_inline;
  t.started_ms = NowMillis();
  t.status = TaskStatus::kRunning;
  t.slurm = steps_[static_cast<size_t>(t.step)].slurm;
  t.adopted = false;
  t.job_name.clear();
  t.job_id.clear();
  t.job_state.clear();
  t.job_seen.clear();
  t.job_raw_id.clear();
  t.job_unknown = 0;
  t.job_cancel = false;
  if (!t.inline_run) Acquire(step, +1, t.slurm);

  const std::filesystem::path home = store_.home();
  auto log_path =
      home / "logs" / request_.run_id / StepDir(t) / (std::to_string(t.attempt) + ".log");
  if (t.slurm && t.attempt == 1) {
    // A job of the run this one resumes, left uncollected when its engine died: wait for it
    // (and read its log where it writes it) instead of submitting the attempt again.
    auto adopted = request_.adopt.find({step.name, t.item_index});
    if (adopted != request_.adopt.end()) {
      t.adopted = true;
      t.job_name = adopted->second.job_name;
      t.job_id = adopted->second.job_id;
      t.job_dir = adopted->second.job_dir;
      if (!adopted->second.log_path.empty()) log_path = adopted->second.log_path;
    }
  }
  const auto work_dir = home / "work" / request_.run_id / StepDir(t);
  std::vector<std::string> secrets = t.item_secrets;
  std::set<std::string> secret_variables;
  Result<Json> config = RenderConfig(t, &secrets, &secret_variables);
  TaskIdentity id{.run_id = request_.run_id,
                  .workflow = wf_.name,
                  .step = step.name,
                  .logical_date = request_.logical_date,
                  .item = t.item,
                  .item_index = t.item_index,
                  .attempt = t.attempt};
  t.ctx = std::make_shared<TaskContext>(id, config.ok() ? *config : Json::object(), request_.params,
                                        UpstreamOutputs(t.step), home, work_dir, log_path,
                                        artifacts_, secrets);
  if (t.slurm) t.job_secrets = secrets;
  t.ctx->set_secret_variables(std::move(secret_variables));
  t.ctx->set_inputs(UpstreamArtifacts(t.step), workflow_dir_, step.outputs, step.artifacts);
  t.ctx->set_log_max_bytes(options_.log_max_bytes);
  if (t.slurm && config.ok() && !t.adopted) {
    // The name it is submitted under, recorded before sbatch: a foreach's first attempts
    // share their step's array (engine/exec/scheduler_slurm.cc).
    t.job_name = SlurmJobName(request_.run_id,
                              t.item_index >= 0 && t.attempt == 1 ? step.name : t.label, t.attempt);
    t.job_dir = JobDirFor(home, request_.run_id, step.name, t.item_index, t.attempt);
  }
  // An inline attempt starts and ends within one batch: it is recorded once, when it ends.
  if (!t.inline_run) RecordAttemptStart(index, log_path.string());
  Notify(t);

  if (!config.ok()) {
    // A config that cannot be rendered fails the attempt without running the operator.
    Status failure =
        Status::InvalidArgument("step '" + step.name + "': " + config.status().message());
    t.ctx->Error("{}", failure.message());
    Launch([this, index, generation = t.generation, failure] {
      PostCompletion({index, generation, failure});
    });
    return;
  }
  if (t.inline_run) {
    Launch([this, index, generation = t.generation, ctx = t.ctx] {
      ExecuteInline(index, generation, ctx);
    });
    return;
  }
  if (step.timeout) ArmTimeout(index);
  if (t.slurm) {
    StartSlurmAttempt(index);
    return;
  }
  LaunchOperator(index);
}

// The step's `with:` rendered with the outputs upstream steps produced, schema defaults
// applied and types checked. The secrets it used are added to `secrets` for redaction, and the
// REEL_SECRET_* variables they come from to `secret_variables` (the step's process gets those).
Result<Json> RunLoop::RenderConfig(const Task& task, std::vector<std::string>* secrets,
                                   std::set<std::string>* secret_variables) const {
  const Step& step = wf_.steps[static_cast<size_t>(task.step)];
  Json rendered = Json::object();
  if (steps_[static_cast<size_t>(task.step)].templated) {
    TemplateScope scope = ScopeFor(task);
    scope.secret_values = secrets;
    scope.secrets = [resolve = scope.secrets, secret_variables](const std::string& name) {
      secret_variables->insert(std::string(kSecretEnvPrefix) + name);
      return resolve ? resolve(name) : std::nullopt;
    };
    scope.env = [lookup = scope.env, secret_variables](const std::string& name) {
      if (name.starts_with(kSecretEnvPrefix)) secret_variables->insert(name);
      return lookup ? lookup(name) : std::nullopt;
    };
    REEL_ASSIGN_OR_RETURN(rendered, RenderJson(step.with, scope));
  } else if (step.with.is_object()) {
    rendered = step.with;
  }
  const OperatorInfo* info = operators_.find ? operators_.find(step.op) : nullptr;
  if (!info) return Status::InvalidArgument("unknown operator '" + step.op + "'");
  REEL_RETURN_IF_ERROR(ApplyConfigSchema(*info, rendered));
  return rendered;
}

// Queues the write that records the attempt as running. If the attempt ends before that write
// is committed, its end write records the whole attempt instead (merged_attempt).
void RunLoop::RecordAttemptStart(size_t index, std::string log_path) {
  Task& t = tasks_[index];
  t.start_round = commit_round_;
  Write([this, index, attempt = t.attempt, log_path = std::move(log_path)]() -> Status {
    Task& task = tasks_[index];
    if (task.merged_attempt == attempt) return Status::Ok();
    REEL_RETURN_IF_ERROR(store_.UpdateTask(task.task_id, TaskStatus::kRunning));
    AttemptRecord record;
    record.task_id = task.task_id;
    record.attempt = attempt;
    record.log_path = log_path;
    if (task.slurm) {
      record.executor = "slurm";
      record.job_name = task.job_name;
      record.job_id = task.job_id;  // known now only for an adopted job
    }
    return store_.StartAttempt(record);
  });
}

void RunLoop::ArmTimeout(size_t index) {
  Task& t = tasks_[index];
  const Step& step = wf_.steps[static_cast<size_t>(t.step)];
  t.timer = std::make_unique<asio::steady_timer>(io_, *step.timeout);
  t.timer->async_wait(
      [this, index, generation = t.generation](const boost::system::error_code& ec) {
        if (ec || tasks_[index].generation != generation || !tasks_[index].running) return;
        OnTimeout(index);
        Commit();
      });
}

// Starts the operator as a process watched by the loop when it is one, else on a worker. A
// task whose readiness an earlier round already made durable starts before the transaction
// that records its start; one made ready by this round waits for it.
void RunLoop::LaunchOperator(size_t index) {
  Task& t = tasks_[index];
  const Step& step = wf_.steps[static_cast<size_t>(t.step)];
  auto launch = [this, &step, index, generation = t.generation, ctx = t.ctx] {
    // The worker's job holds what it needs by value: an operator abandoned after a timeout or
    // cancel may return after this run loop is gone, and then only finds a closed inbox.
    std::shared_ptr<Operator> op;
    Status created = CreateOperator(step, &op);
    if (!created.ok()) ctx->Error("{}", created.message());
    if (created.ok() && StartProcess(index, generation, ctx, op)) return;
    asio::post(*pool_, [inbox = inbox_, op, created, index, generation, ctx] {
      Status status = created.ok() ? RunOperator(*op, *ctx) : created;
      inbox->Post({index, generation, std::move(status)});
    });
  };
  if (t.ready_round < commit_round_) {
    LaunchEarly(std::move(launch));
  } else {
    Launch(std::move(launch));
  }
}

// Operators are created on the loop thread; a constructor that throws fails the attempt.
Status RunLoop::CreateOperator(const Step& step, std::shared_ptr<Operator>* op) {
  Status created = GuardOperatorCall([&] {
    *op = operators_.create(step.op);
    return Status::Ok();
  });
  if (!created.ok()) return created;
  return *op ? Status::Ok() : Status::Internal("operator '" + step.op + "' not found");
}

// An operator's exception becomes a failed attempt (GuardOperatorCall).
Status RunLoop::RunOperator(Operator& op, TaskContext& ctx) {
  Status status = GuardOperatorCall([&] { return op.Execute(ctx); });
  if (!status.ok()) ctx.Error("{}", status.message());
  return status;
}

// Runs on the loop thread, after the commit that made the task ready, and completes at once.
void RunLoop::ExecuteInline(size_t index, uint64_t generation, std::shared_ptr<TaskContext> ctx) {
  const Step& step = wf_.steps[static_cast<size_t>(tasks_[index].step)];
  std::shared_ptr<Operator> op;
  Status status = CreateOperator(step, &op);
  if (status.ok()) {
    status = RunOperator(*op, *ctx);
  } else {
    ctx->Error("{}", status.message());
  }
  HandleCompletion({index, generation, std::move(status)});
  Pump();
}

// --- Timeouts and abandoned operators -------------------------------------------------------

void RunLoop::OnTimeout(size_t index) {
  Task& t = tasks_[index];
  const Step& step = wf_.steps[static_cast<size_t>(t.step)];
  t.timed_out = true;
  if (t.ctx) {
    t.ctx->Warn("timed out after {}; cancelling", FormatDuration(*step.timeout));
    t.ctx->token().Cancel();
  }
  if (t.process) {  // a process can always be stopped: SIGTERM, then SIGKILL; no abandoning
    StopProcess(t.process);
    return;
  }
  if (t.slurm) {  // scancel; the poll collects the job once Slurm says it ended
    if (t.job_id.empty()) {
      t.job_cancel = true;
    } else {
      CancelSlurmJobs({t.job_id});
    }
  }
  uint64_t generation = t.generation;
  t.timer = std::make_unique<asio::steady_timer>(
      io_, t.slurm ? std::max<Millis>(options_.kill_grace, std::chrono::seconds(60))
                   : options_.kill_grace);
  t.timer->async_wait([this, index, generation](const boost::system::error_code& ec) {
    if (ec || tasks_[index].generation != generation || !tasks_[index].running) return;
    const Step& s = wf_.steps[static_cast<size_t>(tasks_[index].step)];
    Abandon(index, AttemptStatus::kTimedOut,
            "timed out after " + FormatDuration(*s.timeout) +
                " (the operator did not stop within the grace period after cancellation)");
    Pump();
    Commit();
  });
}

// Stops waiting for an attempt whose operator ignores cancellation.
void RunLoop::Abandon(size_t index, AttemptStatus status, const std::string& error) {
  Task& t = tasks_[index];
  ++abandoned_;
  Status s = status == AttemptStatus::kTimedOut ? Status::Timeout(error) : Status::Cancelled(error);
  HandleCompletion({index, t.generation, s});
  t.generation++;
}

// --- The end of an attempt ------------------------------------------------------------------

void RunLoop::HandleCompletion(const Completion& c) {
  Task& t = tasks_[c.task];
  if (c.generation != t.generation || !t.running) return;  // abandoned earlier
  t.running = false;
  if (t.timer) {
    t.timer->cancel();
    t.timer.reset();
  }
  const Step& step = wf_.steps[static_cast<size_t>(t.step)];
  if (!t.inline_run) Acquire(step, -1, t.slurm);
  slurm_watch_.erase(c.task);
  std::shared_ptr<TaskContext> ctx = std::move(t.ctx);

  Json outputs = ctx ? ctx->TakeOutputs() : Json::object();
  Status status = c.status;
  if (ctx && status.ok()) status = ctx->log_status();  // its output was lost
  if (JsonDepth(outputs) > kMaxJsonDepth) {  // storing or passing it on would recurse that deep
    outputs = Json::object();
    if (status.ok()) status = Status::InvalidArgument(TooDeepMessage("the step's outputs"));
  }
  SanitizeUtf8(outputs);
  AttemptEnd end = ClassifyAttempt(t, status);
  if (ctx) end.error = ctx->Redact(end.error);
  end.error = SanitizeUtf8(end.error);  // it may quote a child's output, in any encoding
  RecordAttemptEnd(c.task, end, outputs, ctx.get());

  if (end.status == AttemptStatus::kSucceeded) {
    t.outputs = std::move(outputs);
    t.artifacts = ArtifactUris(t.published);
    SetTaskStatus(c.task, TaskStatus::kSucceeded, "", &t.outputs);
    FinishTask(c.task);
    return;
  }
  // A config the operator refused (InvalidArgument) fails the same way every time.
  bool retry = !cancelling_ && t.attempt <= step.retry.retries &&
               status.code() != Status::Code::kInvalidArgument;
  if (retry) {
    ScheduleRetry(c.task);
    t.error = end.error;
    Write([this, index = c.task, error = end.error]() -> Status {
      return store_.UpdateTask(tasks_[index].task_id, TaskStatus::kQueued, nullptr, error);
    });
    Notify(t, end.error + " (retrying)");
    return;
  }
  SetTaskStatus(c.task, cancelling_ ? TaskStatus::kCancelled : TaskStatus::kFailed, end.error);
  FinishTask(c.task);
}

// How the attempt ended, from the operator's status and what the loop knows (a timeout it
// enforced, a cancel in progress).
RunLoop::AttemptEnd RunLoop::ClassifyAttempt(const Task& task, const Status& status) const {
  if (task.timed_out) {
    const Step& step = wf_.steps[static_cast<size_t>(task.step)];
    std::string error = status.code() == Status::Code::kTimeout
                            ? status.message()
                            : "timed out after " + FormatDuration(*step.timeout);
    return {AttemptStatus::kTimedOut, std::move(error)};
  }
  if (status.ok()) return {AttemptStatus::kSucceeded, ""};
  return {cancelling_ ? AttemptStatus::kCancelled : AttemptStatus::kFailed, status.message()};
}

// Queues the write of the attempt's end with what it produced: its record (or the whole record
// when its start was never written, see RecordAttemptStart), artifacts, metrics and events.
void RunLoop::RecordAttemptEnd(size_t index, const AttemptEnd& end, const Json& outputs,
                               TaskContext* ctx) {
  Task& t = tasks_[index];
  std::optional<int> exit_code;
  if (outputs.contains("exit_code") && outputs["exit_code"].is_number_integer()) {
    exit_code = outputs["exit_code"].get<int>();
  }
  // An inline attempt, or one that ended before the transaction recording its start was
  // committed (that write is still queued, in the same round): one record, written whole.
  bool whole_record = t.inline_run || t.start_round == commit_round_;
  if (whole_record && !t.inline_run) t.merged_attempt = t.attempt;
  AttemptRecord record;
  record.attempt = t.attempt;
  record.status = end.status;
  record.started_at = t.started_ms;
  record.ended_at = NowMillis();
  record.error = end.error;
  record.exit_code = exit_code;
  if (ctx) record.log_path = ctx->log_file().string();
  if (t.slurm) {
    record.executor = "slurm";
    record.job_name = t.job_name;
    record.job_id = t.job_id;
    record.job_state = t.job_state;
  }
  std::vector<ArtifactRef> artifacts;
  std::vector<std::pair<std::string, std::pair<double, int64_t>>> metrics;
  std::vector<std::pair<std::string, Json>> events;
  if (ctx) {
    artifacts = ctx->TakeArtifacts();
    metrics = ctx->TakeMetrics();
    events = ctx->TakeEvents();
  }
  // A failed attempt publishes no artifact: downstream steps never see it, and what it stored
  // before failing is not attributed to the task.
  if (end.status != AttemptStatus::kSucceeded) artifacts.clear();
  t.published = artifacts;
  for (auto& [kind, payload] : events) {
    if (JsonDepth(payload) > kMaxJsonDepth) payload = {{"error", TooDeepMessage("the payload")}};
  }
  Write([this, index, whole_record, record = std::move(record), artifacts = std::move(artifacts),
         metrics = std::move(metrics), events = std::move(events)]() mutable -> Status {
    const int64_t task_id = tasks_[index].task_id;
    if (whole_record) {
      record.task_id = task_id;
      REEL_RETURN_IF_ERROR(store_.StartAttempt(record));
    } else {
      REEL_RETURN_IF_ERROR(store_.FinishAttempt(task_id, record.attempt, record.status,
                                                record.error, record.exit_code, record.job_state));
    }
    for (const auto& a : artifacts) {
      REEL_RETURN_IF_ERROR(store_.AddArtifact({.run_id = request_.run_id,
                                               .task_id = task_id,
                                               .name = a.name,
                                               .uri = a.uri,
                                               .size = static_cast<int64_t>(a.size)}));
    }
    for (const auto& [key, value] : metrics) {
      REEL_RETURN_IF_ERROR(store_.AddMetric({.run_id = request_.run_id,
                                             .task_id = task_id,
                                             .key = key,
                                             .value = value.first,
                                             .step = value.second}));
    }
    for (const auto& [kind, payload] : events) {
      REEL_RETURN_IF_ERROR(
          store_.AddEvent({.run_id = request_.run_id, .kind = kind, .payload = payload}).status());
    }
    return Status::Ok();
  });
}

void RunLoop::ScheduleRetry(size_t index) {
  Task& t = tasks_[index];
  t.status = TaskStatus::kQueued;
  const Step& step = wf_.steps[static_cast<size_t>(t.step)];
  double base = static_cast<double>(step.retry.delay.count()) *
                std::pow(step.retry.backoff, std::max(0, t.attempt - 1));
  base = std::min(base, static_cast<double>(step.retry.max_delay.count()));
  // +-10% jitter so that many failing tasks do not retry in lockstep.
  double jitter = std::uniform_real_distribution<double>(-0.1, 0.1)(jitter_);
  auto delay = std::chrono::milliseconds(static_cast<int64_t>(std::max(0.0, base * (1 + jitter))));
  t.timer = std::make_unique<asio::steady_timer>(io_, delay);
  uint64_t generation = t.generation;
  t.timer->async_wait([this, index, generation](const boost::system::error_code& ec) {
    if (ec || tasks_[index].generation != generation || cancelling_) return;
    tasks_[index].timer.reset();
    Enqueue(index);
    Pump();
    Commit();
  });
}

}  // namespace reel::scheduler_internal
