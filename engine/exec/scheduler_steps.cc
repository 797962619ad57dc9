// Step and task transitions of the run loop (see engine/exec/scheduler.h for the policies).
#include <cmath>

#include <boost/asio/post.hpp>

#include "engine/exec/internal/run_loop.h"
#include "engine/exec/run_interval.h"

namespace reel::scheduler_internal {

namespace {

bool IsCaught(const Step& step, TaskStatus status) {
  return step.catch_failure && status == TaskStatus::kFailed;
}

// Every rendering of each of `secrets` (SecretRenderings), longest first.
std::vector<std::string> RenderingsOf(const std::vector<std::string>& secrets) {
  std::vector<std::string> out;
  for (const auto& secret : secrets) {
    for (auto& rendering : SecretRenderings(secret)) out.push_back(std::move(rendering));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

// Which of `secrets` a foreach item holds: those found in one of its strings, or equal to the
// text of one of its numbers.
std::vector<std::string> SecretsIn(const Json& item, const std::vector<std::string>& secrets) {
  std::vector<std::string> found;
  auto visit = [&](const auto& self, const Json& value) -> void {
    if (value.is_structured()) {
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (value.is_object()) self(self, Json(it.key()));
        self(self, *it);
      }
      return;
    }
    if (!value.is_string() && !value.is_number()) return;
    std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    for (const auto& secret : secrets) {
      if (!secret.empty() && text.find(secret) != std::string::npos &&
          std::find(found.begin(), found.end(), secret) == found.end()) {
        found.push_back(secret);
      }
    }
  };
  visit(visit, item);
  return found;
}

}  // namespace

void RunLoop::AddTask(int step, int64_t item_index, Json item, TaskStatus status,
                      std::vector<std::string> item_secrets) {
  size_t index = tasks_.size();
  Task& t = tasks_.emplace_back();
  t.step = step;
  t.item_index = item_index;
  t.item = std::move(item);
  t.item_secrets = std::move(item_secrets);
  t.status = status;
  const std::string& name = wf_.steps[static_cast<size_t>(step)].name;
  t.label = item_index < 0 ? name : name + "[" + std::to_string(item_index) + "]";
  auto reuse = request_.reuse.find({name, item_index});
  if (status == TaskStatus::kQueued && reuse != request_.reuse.end() &&
      reuse->second.item == t.item) {
    t.reused = &reuse->second;
    t.status = TaskStatus::kSucceeded;
    t.outputs = t.reused->outputs;
    t.artifacts = ArtifactUris(t.reused->artifacts);
  }
  steps_[static_cast<size_t>(step)].tasks.push_back(index);
  steps_[static_cast<size_t>(step)].unfinished++;
  Write([this, index]() -> Status {
    Task& task = tasks_[index];
    TaskRecord record;
    record.run_id = request_.run_id;
    record.step = wf_.steps[static_cast<size_t>(task.step)].name;
    record.item_index = task.item_index;
    // An item that holds a secret is stored redacted (a resumed run then runs it again).
    record.item = RedactJson(task.item, RenderingsOf(task.item_secrets));
    record.status = task.status;
    record.error = task.error;
    if (task.reused) {
      record.outputs = task.reused->outputs;
      record.reused_from = task.reused->task_id;
    }
    REEL_ASSIGN_OR_RETURN(auto id, store_.CreateTask(record));
    task.task_id = id;
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

void RunLoop::SetTaskStatus(size_t index, TaskStatus status, const std::string& error,
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

void RunLoop::FinishStepWithoutRunning(int step, TaskStatus status, const std::string& error) {
  StepRun& s = steps_[static_cast<size_t>(step)];
  if (s.tasks.empty()) AddTask(step, -1, nullptr, status);
  for (size_t i : std::vector<size_t>(s.tasks)) {
    SetTaskStatus(i, status, error);
    FinishTask(i);
  }
}

void RunLoop::StepReady(int step) {
  const Step& def = wf_.steps[static_cast<size_t>(step)];
  if (auto skip = request_.skip.find(def.name); skip != request_.skip.end()) {
    return FinishStepWithoutRunning(step, TaskStatus::kSkipped, skip->second);
  }
  bool any_failed = false, all_skipped = !dag_.upstream(step).empty();
  for (int u : dag_.upstream(step)) {
    const StepRun& up = steps_[static_cast<size_t>(u)];
    const Step& up_def = wf_.steps[static_cast<size_t>(u)];
    if ((up.status == TaskStatus::kFailed && !up_def.catch_failure) ||
        up.status == TaskStatus::kUpstreamFailed || up.status == TaskStatus::kCancelled) {
      any_failed = true;
    }
    if (up.status != TaskStatus::kSkipped) all_skipped = false;
  }
  if (cancelling_) return FinishStepWithoutRunning(step, TaskStatus::kCancelled, cancel_reason_);
  if (any_failed) return FinishStepWithoutRunning(step, TaskStatus::kUpstreamFailed, "");
  if (all_skipped)
    return FinishStepWithoutRunning(step, TaskStatus::kSkipped, "every upstream step was skipped");

  Task probe;
  probe.step = step;
  // Secrets `when` and `foreach` use: redacted from their messages and from the items.
  std::vector<std::string> secrets;
  TemplateScope scope = ScopeFor(probe);
  scope.secret_values = &secrets;
  auto redacted = [&secrets](const std::string& text) {
    return RedactText(text, RenderingsOf(secrets));
  };
  if (!def.when.empty()) {
    auto tmpl = Template::Parse(def.when);
    Result<Json> value = tmpl.ok() ? tmpl->Render(scope) : Result<Json>(tmpl.status());
    if (!value.ok()) {
      return FinishStepWithoutRunning(step, TaskStatus::kFailed,
                                      redacted("when: " + value.status().message()));
    }
    if (!IsTruthy(*value)) {
      return FinishStepWithoutRunning(step, TaskStatus::kSkipped,
                                      "when: " + def.when + " is false");
    }
  }
  if (def.foreach) {
    Result<Json> items = RenderJson(*def.foreach, scope);
    if (!items.ok()) {
      return FinishStepWithoutRunning(step, TaskStatus::kFailed,
                                      redacted("foreach: " + items.status().message()));
    }
    if (!items->is_array()) {
      return FinishStepWithoutRunning(
          step, TaskStatus::kFailed,
          redacted("foreach must render to a list, got " + items->dump()));
    }
    if (items->empty()) {
      return FinishStepWithoutRunning(step, TaskStatus::kSkipped, "foreach list is empty");
    }
    ExpandStep(step, *items, secrets);
  }
  for (size_t i : std::vector<size_t>(steps_[static_cast<size_t>(step)].tasks)) EnqueueOrReuse(i);
  Pump();
}

void RunLoop::ExpandStep(int step, const Json& items, const std::vector<std::string>& secrets) {
  for (size_t i = 0; i < items.size(); ++i) {
    AddTask(step, static_cast<int64_t>(i), items[i], TaskStatus::kQueued,
            SecretsIn(items[i], secrets));
  }
}

void RunLoop::EnqueueOrReuse(size_t index) {
  Task& t = tasks_[index];
  if (t.reused) {
    Notify(t, "reused from run " + request_.origin_run_id);
    FinishTask(index);
    return;
  }
  if (wf_.steps[static_cast<size_t>(t.step)].cache && TryCache(index)) return;
  Enqueue(index);
}

// Inline operators start at once: they need no slot. The rest wait in line for one.
void RunLoop::Enqueue(size_t index) {
  const StepRun& s = steps_[static_cast<size_t>(tasks_[index].step)];
  if (s.runs_inline && !cancelling_) {
    StartAttempt(index);
  } else {
    tasks_[index].ready_round = commit_round_;
    (s.slurm ? slurm_pending_ : pending_).push_back(index);
  }
}

void RunLoop::Pump() {
  if (cancelling_) return;
  // Slurm queues jobs itself: they need no local slot, only room in their pool.
  for (auto it = slurm_pending_.begin(); it != slurm_pending_.end();) {
    const Step& step = wf_.steps[static_cast<size_t>(tasks_[*it].step)];
    if (!Fits(step, /*slurm=*/true)) {
      ++it;
      continue;
    }
    size_t index = *it;
    it = slurm_pending_.erase(it);
    StartAttempt(index);
  }
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (running_ >= max_parallel_) break;
    const Step& step = wf_.steps[static_cast<size_t>(tasks_[*it].step)];
    if (!Fits(step, /*slurm=*/false)) {
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
  if (request_.interval) SetIntervalScope(scope, *request_.interval);
  scope.run_id = request_.run_id;
  scope.item = task.item;
  scope.has_item = task.item_index >= 0;
  scope.item_secret = !task.item_secrets.empty();
  for (const auto& name : steps_[static_cast<size_t>(task.step)].referenced_steps) {
    auto it = step_outputs_.find(name);
    if (it != step_outputs_.end()) scope.steps[name] = *it;
  }
  scope.secrets = request_.secrets;
  return scope;
}

template <typename Refs>
Json RunLoop::ArtifactUris(const Refs& refs) {
  Json out = Json::object();
  for (const auto& ref : refs) out[ref.name] = ref.uri;
  return out;
}
template Json RunLoop::ArtifactUris(const std::vector<ArtifactRef>&);

Json RunLoop::ArtifactPaths(const Json& uris) const {
  if (uris.is_array()) {
    Json out = Json::array();
    for (const auto& item : uris) out.push_back(ArtifactPaths(item));
    return out;
  }
  Json out = Json::object();
  for (auto it = uris.begin(); it != uris.end(); ++it) {
    Result<std::filesystem::path> path = artifacts_.Path(it->get<std::string>());
    std::error_code ec;
    out[it.key()] = path.ok() ? Json(std::filesystem::absolute(*path, ec).string()) : Json();
  }
  return out;
}

Json RunLoop::UpstreamArtifacts(int step) const {
  Json out = Json::object();
  for (int u : dag_.upstream(step)) {
    const std::string& name = wf_.steps[static_cast<size_t>(u)].name;
    auto it = step_outputs_.find(name);
    if (it != step_outputs_.end()) out[name] = (*it)["artifacts"];
  }
  return out;
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
  Json artifacts = def.foreach ? Json::array() : Json::object();
  for (size_t i : s.tasks) {
    const Task& t = tasks_[i];
    if (t.status == TaskStatus::kFailed) any_failed = true;
    if (t.status == TaskStatus::kCancelled) any_cancelled = true;
    if (t.status == TaskStatus::kUpstreamFailed) any_upstream_failed = true;
    if (t.status != TaskStatus::kSkipped) all_skipped = false;
    if (def.foreach && t.item_index >= 0) {
      outputs.push_back(t.outputs);
      artifacts.push_back(t.artifacts);
    } else if (!def.foreach) {
      outputs = t.outputs;
      artifacts = t.artifacts;
    }
  }
  if (any_upstream_failed) {
    s.status = TaskStatus::kUpstreamFailed;
  } else if (any_failed) {
    s.status = TaskStatus::kFailed;
  } else if (any_cancelled) {
    s.status = TaskStatus::kCancelled;
  } else if (all_skipped && !s.tasks.empty()) {
    s.status = TaskStatus::kSkipped;
  } else {
    s.status = TaskStatus::kSucceeded;
  }
  if (s.status == TaskStatus::kSucceeded || IsCaught(def, s.status)) {
    step_outputs_[def.name] = Json{{"outputs", outputs}, {"artifacts", ArtifactPaths(artifacts)}};
    step_artifact_uris_[def.name] = std::move(artifacts);
  }
  for (int next : tracker_.Finish(step)) StepReady(next);
  if (tracker_.remaining() == 0) FinishRun();
}

void RunLoop::FinishRun() {
  if (finished_) return;
  finished_ = true;
  RunStatus status = RunStatus::kSucceeded;
  std::string error;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const StepRun& s = steps_[i];
    const Step& def = wf_.steps[i];
    if ((s.status == TaskStatus::kFailed && !def.catch_failure) ||
        s.status == TaskStatus::kUpstreamFailed) {
      status = RunStatus::kFailed;
      if (error.empty() && s.status == TaskStatus::kFailed) {
        for (size_t t : s.tasks) {
          if (tasks_[t].status == TaskStatus::kFailed) {
            error = "step " + tasks_[t].label + " failed: " + tasks_[t].error;
            break;
          }
        }
      }
    }
  }
  if (cancelling_) {
    status = RunStatus::kCancelled;
    error = cancel_reason_;
  }
  if (!store_error_.ok()) {
    status = RunStatus::kFailed;
    error = store_error_.message();
  }
  outcome_.status = status;
  outcome_.error = error;
  Write([this, status, error]() -> Status {
    return store_.UpdateRunStatus(request_.run_id, status,
                                  error.empty() ? std::nullopt : std::optional<std::string>(error));
  });
  if (slurm_jobs_ > 0) {
    // How much the run asked of slurmctld: `reel show --json` lists it among the events.
    Json load = {{"jobs", slurm_jobs_},
                 {"sbatch_calls", slurm_->submissions()},
                 {"status_queries", slurm_->status_queries()}};
    Write([this, load]() -> Status {
      return store_.AddEvent({.run_id = request_.run_id, .kind = "slurm.jobs", .payload = load})
          .status();
    });
  }
  if (status == RunStatus::kSucceeded) {
    std::error_code ec;
    std::filesystem::remove_all(store_.home() / "work" / request_.run_id, ec);
    // Job folders hold their spec's secrets; a failed run keeps them for `reel resume`.
    std::filesystem::remove_all(store_.home() / "jobs" / request_.run_id, ec);
  }
  heartbeat_timer_.cancel();
  stop_timer_.cancel();
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  work_.reset();
}

}  // namespace reel::scheduler_internal
