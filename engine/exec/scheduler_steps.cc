// Step and task transitions of the run loop (see engine/exec/scheduler.h for the policies).
#include <cmath>

#include <boost/asio/post.hpp>

#include "engine/exec/internal/run_loop.h"

namespace reel::scheduler_internal {

namespace {

bool IsCaught(const Step& step, const std::string& status) {
  return step.catch_failure && status == "failed";
}

// Fills in schema defaults and checks rendered values against the operator's schema.
Status ApplySchema(const OperatorInfo& info, Json& config) {
  for (const auto& field : info.config) {
    if (!config.contains(field.name) || config[field.name].is_null()) {
      if (!field.default_value.is_null()) {
        config[field.name] = field.default_value;
      } else if (field.required) {
        return Status::InvalidArgument("setting '" + field.name + "' is required");
      }
      continue;
    }
    Json& v = config[field.name];
    bool ok = true;
    switch (field.type) {
      case ConfigType::kString: ok = v.is_string(); break;
      case ConfigType::kInt:
        if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()) {
          v = static_cast<int64_t>(v.get<double>());
        }
        ok = v.is_number_integer();
        break;
      case ConfigType::kFloat: ok = v.is_number(); break;
      case ConfigType::kBool: ok = v.is_boolean(); break;
      case ConfigType::kList: ok = v.is_array(); break;
      case ConfigType::kMap: ok = v.is_object(); break;
      case ConfigType::kDuration:
        ok = v.is_number() || (v.is_string() && ParseDuration(v.get<std::string>()).ok());
        break;
      case ConfigType::kAny: break;
    }
    if (!ok) {
      return Status::InvalidArgument("setting '" + field.name + "' must be " +
                                     ConfigTypeName(field.type) + " after rendering, got " +
                                     v.dump());
    }
  }
  return Status::Ok();
}

}  // namespace

void RunLoop::AddTask(int step, int64_t item_index, Json item, const std::string& status) {
  size_t index = tasks_.size();
  Task& t = tasks_.emplace_back();
  t.step = step;
  t.item_index = item_index;
  t.item = std::move(item);
  t.status = status;
  const std::string& name = wf_.steps[static_cast<size_t>(step)].name;
  t.label = item_index < 0 ? name : name + "[" + std::to_string(item_index) + "]";
  auto reuse = request_.reuse.find({name, item_index});
  if (status == "queued" && reuse != request_.reuse.end() && reuse->second.item == t.item) {
    t.reused = &reuse->second;
    t.status = "succeeded";
    t.outputs = t.reused->outputs;
  }
  steps_[static_cast<size_t>(step)].tasks.push_back(index);
  steps_[static_cast<size_t>(step)].unfinished++;
  Write([this, index]() -> Status {
    Task& task = tasks_[index];
    TaskRecord record;
    record.run_id = request_.run_id;
    record.step = wf_.steps[static_cast<size_t>(task.step)].name;
    record.item_index = task.item_index;
    record.item = task.item;
    record.status = task.status;
    record.error = task.error;
    if (task.reused) {
      record.outputs = task.reused->outputs;
      record.reused_from = task.reused->task_id;
    }
    auto id = store_.CreateTask(record);
    if (!id.ok()) return id.status();
    task.task_id = *id;
    if (task.reused) {
      for (ArtifactRecord artifact : task.reused->artifacts) {
        artifact.run_id = request_.run_id;
        artifact.task_id = task.task_id;
        artifact.created_at = 0;
        REEL_RETURN_IF_ERROR(store_.AddArtifact(artifact));
      }
    }
    return Status::Ok();
  });
}

void RunLoop::SetTaskStatus(size_t index, const std::string& status, const std::string& error,
                            const Json* outputs) {
  Task& t = tasks_[index];
  t.status = status;
  t.error = error;
  std::optional<Json> out;
  if (outputs) out = *outputs;
  Write([this, index, status, error, out]() -> Status {
    return store_.UpdateTask(tasks_[index].task_id, status, out ? &*out : nullptr,
                             error.empty() ? std::nullopt : std::optional<std::string>(error));
  });
  Notify(t, error);
}

void RunLoop::FinishStepWithoutRunning(int step, const std::string& status,
                                       const std::string& error) {
  StepRun& s = steps_[static_cast<size_t>(step)];
  if (s.tasks.empty()) AddTask(step, -1, nullptr, status);
  for (size_t i : std::vector<size_t>(s.tasks)) {
    SetTaskStatus(i, status, error);
    FinishTask(i);
  }
}

void RunLoop::StepReady(int step) {
  const Step& def = wf_.steps[static_cast<size_t>(step)];
  bool any_failed = false, all_skipped = !dag_.upstream(step).empty();
  for (int u : dag_.upstream(step)) {
    const StepRun& up = steps_[static_cast<size_t>(u)];
    const Step& up_def = wf_.steps[static_cast<size_t>(u)];
    if ((up.status == "failed" && !up_def.catch_failure) || up.status == "upstream_failed" ||
        up.status == "cancelled") {
      any_failed = true;
    }
    if (up.status != "skipped") all_skipped = false;
  }
  if (cancelling_) return FinishStepWithoutRunning(step, "cancelled", cancel_reason_);
  if (any_failed) return FinishStepWithoutRunning(step, "upstream_failed", "");
  if (all_skipped) return FinishStepWithoutRunning(step, "skipped", "every upstream step was skipped");

  Task probe;
  probe.step = step;
  if (!def.when.empty()) {
    auto tmpl = Template::Parse(def.when);
    Result<Json> value = tmpl.ok() ? tmpl->Render(ScopeFor(probe)) : Result<Json>(tmpl.status());
    if (!value.ok()) {
      return FinishStepWithoutRunning(step, "failed", "when: " + value.status().message());
    }
    if (!IsTruthy(*value)) {
      return FinishStepWithoutRunning(step, "skipped", "when: " + def.when + " is false");
    }
  }
  if (def.foreach) {
    Result<Json> items = RenderJson(*def.foreach, ScopeFor(probe));
    if (!items.ok()) {
      return FinishStepWithoutRunning(step, "failed", "foreach: " + items.status().message());
    }
    if (!items->is_array()) {
      return FinishStepWithoutRunning(step, "failed",
                                      "foreach must render to a list, got " + items->dump());
    }
    if (items->empty()) {
      return FinishStepWithoutRunning(step, "skipped", "foreach list is empty");
    }
    ExpandStep(step, *items);
  }
  for (size_t i : std::vector<size_t>(steps_[static_cast<size_t>(step)].tasks)) EnqueueOrReuse(i);
  Pump();
}

void RunLoop::ExpandStep(int step, const Json& items) {
  for (size_t i = 0; i < items.size(); ++i) {
    AddTask(step, static_cast<int64_t>(i), items[i], "queued");
  }
}

void RunLoop::EnqueueOrReuse(size_t index) {
  Task& t = tasks_[index];
  if (t.reused) {
    Notify(t, "reused from run " + request_.origin_run_id);
    FinishTask(index);
    return;
  }
  Enqueue(index);
}

// Inline operators start at once: they need no slot. The rest wait in line for one.
void RunLoop::Enqueue(size_t index) {
  if (steps_[static_cast<size_t>(tasks_[index].step)].runs_inline && !cancelling_) {
    StartAttempt(index);
  } else {
    tasks_[index].ready_round = commit_round_;
    pending_.push_back(index);
  }
}

void RunLoop::Pump() {
  if (cancelling_) return;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (running_ >= max_parallel_) break;
    const Step& step = wf_.steps[static_cast<size_t>(tasks_[*it].step)];
    if (!Fits(step)) {
      ++it;
      continue;
    }
    size_t index = *it;
    it = pending_.erase(it);
    StartAttempt(index);
  }
}

TemplateScope RunLoop::ScopeFor(const Task& task) const {
  TemplateScope scope;
  scope.params = request_.params;
  scope.ds = request_.logical_date;
  scope.logical_date = request_.logical_date.empty() ? "" : request_.logical_date + "T00:00:00Z";
  scope.run_id = request_.run_id;
  scope.item = task.item;
  scope.has_item = task.item_index >= 0;
  for (const auto& name : steps_[static_cast<size_t>(task.step)].referenced_steps) {
    auto it = step_outputs_.find(name);
    if (it != step_outputs_.end()) scope.steps[name] = *it;
  }
  scope.secrets = request_.secrets;
  return scope;
}

Json RunLoop::UpstreamOutputs(int step) const {
  Json out = Json::object();
  for (int u : dag_.upstream(step)) {
    const std::string& name = wf_.steps[static_cast<size_t>(u)].name;
    auto it = step_outputs_.find(name);
    out[name] = it != step_outputs_.end() ? (*it)["outputs"] : Json::object();
  }
  return out;
}

void RunLoop::StartAttempt(size_t index) {
  Task& t = tasks_[index];
  const Step& step = wf_.steps[static_cast<size_t>(t.step)];
  const StepRun& step_run = steps_[static_cast<size_t>(t.step)];
  t.attempt++;
  t.timed_out = false;
  t.running = true;
  t.inline_run = step_run.runs_inline;
  t.started_ms = NowMillis();
  if (!t.inline_run) Acquire(step, +1);

  const std::string run_dir = request_.run_id;
  std::filesystem::path home = store_.home();
  auto log_path = home / "logs" / run_dir / StepDir(t) / (std::to_string(t.attempt) + ".log");
  auto work_dir = home / "work" / run_dir / StepDir(t);

  // Render the config now, with the outputs upstream steps produced.
  std::vector<std::string> secrets;
  Status config_status;
  Json rendered = Json::object();
  if (step_run.templated) {
    TemplateScope scope = ScopeFor(t);
    scope.secret_values = &secrets;
    Result<Json> config = RenderJson(step.with, scope);
    if (config.ok()) {
      rendered = std::move(*config);
    } else {
      config_status = config.status();
    }
  } else if (step.with.is_object()) {
    rendered = step.with;
  }
  const OperatorInfo* info = operators_.find ? operators_.find(step.op) : nullptr;
  if (config_status.ok() && !info) {
    config_status = Status::InvalidArgument("unknown operator '" + step.op + "'");
  }
  if (config_status.ok()) config_status = ApplySchema(*info, rendered);

  TaskIdentity id{request_.run_id, wf_.name, step.name, request_.logical_date, t.item,
                  t.item_index, t.attempt};
  t.ctx = std::make_shared<TaskContext>(id, rendered, request_.params, UpstreamOutputs(t.step),
                                        home, work_dir, log_path, artifacts_, secrets);
  t.status = "running";
  int attempt = t.attempt;
  std::string log = log_path.string();
  // An inline attempt starts and ends within one batch: it is recorded once, when it ends.
  if (!t.inline_run) {
    t.start_round = commit_round_;
    Write([this, index, attempt, log]() -> Status {
      Task& task = tasks_[index];
      if (task.merged_attempt == attempt) return Status::Ok();  // its end write records it
      REEL_RETURN_IF_ERROR(store_.UpdateTask(task.task_id, "running"));
      AttemptRecord record;
      record.task_id = task.task_id;
      record.attempt = attempt;
      record.log_path = log;
      return store_.StartAttempt(record);
    });
  }
  Notify(t);

  uint64_t generation = t.generation;
  if (!config_status.ok()) {
    // A config that cannot be rendered fails the attempt without running the operator.
    Status failure = Status::InvalidArgument("step '" + step.name + "': " + config_status.message());
    t.ctx->Error("{}", failure.message());
    Launch([this, index, generation, failure] { PostCompletion({index, generation, failure}); });
    return;
  }
  auto ctx = t.ctx;
  if (t.inline_run) {
    Launch([this, index, generation, ctx] { ExecuteInline(index, generation, ctx); });
    return;
  }
  if (step.timeout) {
    t.timer = std::make_unique<asio::steady_timer>(io_, *step.timeout);
    t.timer->async_wait([this, index, generation](const boost::system::error_code& ec) {
      if (ec || tasks_[index].generation != generation || !tasks_[index].running) return;
      OnTimeout(index);
      Commit();
    });
  }
  auto launch = [this, &step, index, generation, ctx] {
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
  uint64_t generation = t.generation;
  t.timer = std::make_unique<asio::steady_timer>(io_, options_.kill_grace);
  t.timer->async_wait([this, index, generation](const boost::system::error_code& ec) {
    if (ec || tasks_[index].generation != generation || !tasks_[index].running) return;
    const Step& s = wf_.steps[static_cast<size_t>(tasks_[index].step)];
    Abandon(index, "timed_out",
            "timed out after " + FormatDuration(*s.timeout) +
                " (the operator did not stop within the grace period after cancellation)");
    Pump();
    Commit();
  });
}

// Stops waiting for an attempt whose operator ignores cancellation.
void RunLoop::Abandon(size_t index, const std::string& status, const std::string& error) {
  Task& t = tasks_[index];
  ++abandoned_;
  Status s = status == "timed_out" ? Status::Timeout(error) : Status::Cancelled(error);
  HandleCompletion({index, t.generation, s});
  t.generation++;
}

void RunLoop::HandleCompletion(const Completion& c) {
  Task& t = tasks_[c.task];
  if (c.generation != t.generation || !t.running) return;
  const Step& step = wf_.steps[static_cast<size_t>(t.step)];
  t.running = false;
  if (t.timer) {
    t.timer->cancel();
    t.timer.reset();
  }
  if (!t.inline_run) Acquire(step, -1);
  std::shared_ptr<TaskContext> ctx = std::move(t.ctx);

  std::string attempt_status = "succeeded";
  std::string error;
  if (t.timed_out) {
    attempt_status = "timed_out";
    error = "timed out after " + FormatDuration(*step.timeout);
    if (!c.status.ok() && c.status.code() == Status::Code::kTimeout) error = c.status.message();
  } else if (!c.status.ok()) {
    attempt_status = cancelling_ ? "cancelled" : "failed";
    error = c.status.message();
  }
  if (ctx) error = ctx->Redact(error);
  Json outputs = ctx ? ctx->TakeOutputs() : Json::object();
  auto artifacts = ctx ? ctx->TakeArtifacts() : std::vector<ArtifactRef>{};
  auto metrics = ctx ? ctx->TakeMetrics() : decltype(ctx->TakeMetrics()){};
  auto events = ctx ? ctx->TakeEvents() : decltype(ctx->TakeEvents()){};
  int attempt = t.attempt;
  std::optional<int> exit_code;
  if (outputs.contains("exit_code") && outputs["exit_code"].is_number_integer()) {
    exit_code = outputs["exit_code"].get<int>();
  }
  // An inline attempt, or one that ended before the transaction recording its start was
  // committed (that write is still queued, in the same round): one record, written whole.
  bool whole_record = t.inline_run || t.start_round == commit_round_;
  if (whole_record && !t.inline_run) t.merged_attempt = attempt;
  AttemptRecord whole;
  if (whole_record) {
    whole.attempt = attempt;
    whole.status = attempt_status;
    whole.started_at = t.started_ms;
    whole.ended_at = NowMillis();
    whole.error = error;
    whole.exit_code = exit_code;
    if (ctx) whole.log_path = ctx->log_file().string();
  }
  Write([this, index = c.task, attempt, attempt_status, error, exit_code, artifacts, metrics,
         events, whole_record, whole]() mutable -> Status {
    Task& task = tasks_[index];
    if (whole_record) {
      whole.task_id = task.task_id;
      REEL_RETURN_IF_ERROR(store_.StartAttempt(whole));
    } else {
      REEL_RETURN_IF_ERROR(
          store_.FinishAttempt(task.task_id, attempt, attempt_status, error, exit_code));
    }
    for (const auto& a : artifacts) {
      ArtifactRecord record;
      record.run_id = request_.run_id;
      record.task_id = task.task_id;
      record.name = a.name;
      record.uri = a.uri;
      record.size = static_cast<int64_t>(a.size);
      REEL_RETURN_IF_ERROR(store_.AddArtifact(record));
    }
    for (const auto& [key, value] : metrics) {
      MetricRecord m;
      m.run_id = request_.run_id;
      m.task_id = task.task_id;
      m.key = key;
      m.value = value.first;
      m.step = value.second;
      REEL_RETURN_IF_ERROR(store_.AddMetric(m));
    }
    for (const auto& [kind, payload] : events) {
      EventRecord e;
      e.run_id = request_.run_id;
      e.kind = kind;
      e.payload = payload;
      auto id = store_.AddEvent(e);
      if (!id.ok()) return id.status();
    }
    return Status::Ok();
  });

  if (attempt_status == "succeeded") {
    t.outputs = std::move(outputs);
    SetTaskStatus(c.task, "succeeded", "", &t.outputs);
    FinishTask(c.task);
    return;
  }
  bool retry = !cancelling_ && t.attempt <= step.retry.retries &&
               c.status.code() != Status::Code::kInvalidArgument;
  if (retry) {
    ScheduleRetry(c.task);
    t.error = error;
    Write([this, index = c.task, error]() -> Status {
      return store_.UpdateTask(tasks_[index].task_id, "queued", nullptr, error);
    });
    Notify(t, error + " (retrying)");
    return;
  }
  SetTaskStatus(c.task, cancelling_ ? "cancelled" : "failed", error);
  FinishTask(c.task);
}

void RunLoop::ScheduleRetry(size_t index) {
  Task& t = tasks_[index];
  t.status = "queued";
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

void RunLoop::FinishTask(size_t index) {
  Task& t = tasks_[index];
  StepRun& s = steps_[static_cast<size_t>(t.step)];
  if (--s.unfinished == 0) FinishStep(t.step);
}

void RunLoop::FinishStep(int step) {
  StepRun& s = steps_[static_cast<size_t>(step)];
  if (s.finished) return;
  s.finished = true;
  const Step& def = wf_.steps[static_cast<size_t>(step)];
  bool any_failed = false, any_cancelled = false, any_upstream_failed = false, all_skipped = true;
  Json outputs = def.foreach ? Json::array() : Json::object();
  for (size_t i : s.tasks) {
    const Task& t = tasks_[i];
    if (t.status == "failed") any_failed = true;
    if (t.status == "cancelled") any_cancelled = true;
    if (t.status == "upstream_failed") any_upstream_failed = true;
    if (t.status != "skipped") all_skipped = false;
    if (def.foreach && t.item_index >= 0) {
      outputs.push_back(t.outputs);
    } else if (!def.foreach) {
      outputs = t.outputs;
    }
  }
  if (any_upstream_failed) {
    s.status = "upstream_failed";
  } else if (any_failed) {
    s.status = "failed";
  } else if (any_cancelled) {
    s.status = "cancelled";
  } else if (all_skipped && !s.tasks.empty()) {
    s.status = "skipped";
  } else {
    s.status = "succeeded";
  }
  if (s.status == "succeeded" || IsCaught(def, s.status)) {
    step_outputs_[def.name] = Json{{"outputs", outputs}};
  }
  for (int next : tracker_.Finish(step)) StepReady(next);
  if (tracker_.remaining() == 0) FinishRun();
}

void RunLoop::FinishRun() {
  if (finished_) return;
  finished_ = true;
  std::string status = "succeeded";
  std::string error;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const StepRun& s = steps_[i];
    const Step& def = wf_.steps[i];
    if ((s.status == "failed" && !def.catch_failure) || s.status == "upstream_failed") {
      status = "failed";
      if (error.empty() && s.status == "failed") {
        for (size_t t : s.tasks) {
          if (tasks_[t].status == "failed") {
            error = "step " + tasks_[t].label + " failed: " + tasks_[t].error;
            break;
          }
        }
      }
    }
  }
  if (cancelling_) {
    status = "cancelled";
    error = cancel_reason_;
  }
  if (!store_error_.ok()) {
    status = "failed";
    error = store_error_.message();
  }
  outcome_.status = status;
  outcome_.error = error;
  Write([this, status, error]() -> Status {
    return store_.UpdateRunStatus(request_.run_id, status,
                                  error.empty() ? std::nullopt : std::optional<std::string>(error));
  });
  if (status == "succeeded") {
    std::error_code ec;
    std::filesystem::remove_all(store_.home() / "work" / request_.run_id, ec);
  }
  heartbeat_timer_.cancel();
  stop_timer_.cancel();
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  work_.reset();
}

}  // namespace reel::scheduler_internal
