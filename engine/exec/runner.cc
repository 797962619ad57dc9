#include "engine/exec/runner.h"

#include <date/date.h>

#include "engine/exec/job_spec.h"
#include "engine/exec/run_interval.h"
#include "engine/template/template.h"
#include "engine/workflow/dag.h"
#include "engine/workflow/loader.h"

namespace reel {

std::string TodayUtc() {
  auto today = date::floor<date::days>(std::chrono::system_clock::now());
  return date::format("%F", today);
}

Result<Json> ResolveParams(const Workflow& workflow,
                           const std::map<std::string, std::string>& overrides,
                           const std::string& logical_date, const std::string& run_id,
                           const Json* recorded) {
  for (const auto& [name, value] : overrides) {
    if (!workflow.FindParam(name)) {
      std::vector<std::string> names;
      for (const auto& p : workflow.params) names.push_back(p.name);
      std::string guess = ClosestMatch(name, names);
      return Status::InvalidArgument(
          "workflow '" + workflow.name + "' has no param '" + name + "'" +
          (guess.empty() ? (names.empty() ? std::string(" (it declares none)")
                                          : "; params: " +
                                                [&] {
                                                  std::string all;
                                                  for (const auto& n : names)
                                                    all += (all.empty() ? "" : ", ") + n;
                                                  return all;
                                                }())
                         : "; did you mean '" + guess + "'?"));
    }
  }
  Json params = Json::object();
  TemplateScope scope;
  if (!logical_date.empty()) {
    REEL_ASSIGN_OR_RETURN(DataInterval interval, ResolveRunInterval(workflow, logical_date));
    SetIntervalScope(scope, interval);
  }
  scope.run_id = run_id;
  for (const auto& spec : workflow.params) {
    Json value;
    if (auto it = overrides.find(spec.name); it != overrides.end()) {
      value = it->second;
    } else if (recorded != nullptr && recorded->contains(spec.name)) {
      value = (*recorded)[spec.name];
    } else if (spec.has_default && !spec.default_value.is_null()) {
      value = spec.default_value;
      if (value.is_string() && ContainsTemplate(value.get<std::string>())) {
        scope.params = params;  // earlier params are visible to later defaults
        auto rendered = RenderJson(value, scope);
        if (!rendered.ok()) {
          return Status::InvalidArgument("default of param '" + spec.name +
                                         "': " + rendered.status().message());
        }
        value = *rendered;
      }
    } else if (spec.required) {
      return Status::InvalidArgument("param '" + spec.name + "' is required: pass -p " + spec.name +
                                     "=VALUE");
    } else {
      params[spec.name] = nullptr;
      continue;
    }
    REEL_ASSIGN_OR_RETURN(auto coerced, CoerceParam(spec, value));
    params[spec.name] = coerced;
  }
  return params;
}

Result<RunRequest> PrepareRun(StateStore& store, WorkflowPtr workflow,
                              const std::map<std::string, std::string>& overrides,
                              const std::string& logical_date, RunTrigger trigger,
                              const Json* recorded) {
  RunRequest request;
  request.run_id = NewRunId();
  REEL_ASSIGN_OR_RETURN(
      request.interval,
      ResolveRunInterval(*workflow, logical_date.empty() ? TodayUtc() : logical_date));
  request.logical_date = request.interval->logical_date;
  REEL_ASSIGN_OR_RETURN(auto params, ResolveParams(*workflow, overrides, request.logical_date,
                                                   request.run_id, recorded));
  request.params = params;
  REEL_ASSIGN_OR_RETURN(auto version, store.PutWorkflowVersion(workflow->name, workflow->source));
  request.version_hash = version;
  request.workflow = std::move(workflow);
  request.trigger = trigger;
  request.secrets = SecretsResolver(store.home());
  return request;
}

Result<RunRequest> PrepareResume(StateStore& store, const OperatorCatalog& operators,
                                 const std::string& origin_run_id, const std::string& from_step) {
  REEL_ASSIGN_OR_RETURN(auto origin, store.GetRun(origin_run_id));
  if (!IsTerminal(origin.status)) {
    return Status::Conflict("run " + origin.run_id + " is still " +
                            std::string(ToString(origin.status)) +
                            "; wait for it or `reel cancel " + origin.run_id + "` first");
  }
  REEL_ASSIGN_OR_RETURN(auto yaml, store.GetWorkflowYaml(origin.workflow, origin.version_hash));
  Diagnostics diags;
  auto workflow =
      LoadWorkflowText(origin.workflow + ".yaml (as recorded for run " + origin.run_id + ")", yaml,
                       operators, diags);
  if (!workflow) {
    return Status::InvalidArgument("the workflow recorded for run " + origin.run_id +
                                   " no longer validates:\n" + diags.Format());
  }
  std::vector<bool> rerun(workflow->steps.size(), false);
  if (!from_step.empty()) {
    int from = workflow->StepIndex(from_step);
    if (from < 0) {
      std::vector<std::string> names;
      for (const auto& s : workflow->steps) names.push_back(s.name);
      std::string guess = ClosestMatch(from_step, names);
      return Status::InvalidArgument("workflow '" + workflow->name + "' has no step '" + from_step +
                                     "'" +
                                     (guess.empty() ? "" : "; did you mean '" + guess + "'?"));
    }
    // The step and everything downstream of it run again.
    Dag dag = Dag::FromWorkflow(*workflow);
    for (size_t v = 0; v < workflow->steps.size(); ++v) {
      if (static_cast<int>(v) == from ||
          dag.Ancestors(static_cast<int>(v))[static_cast<size_t>(from)]) {
        rerun[v] = true;
      }
    }
  }
  RunRequest request;
  request.run_id = NewRunId();
  request.workflow = workflow;
  request.version_hash = origin.version_hash;
  request.params = origin.params;
  request.logical_date = origin.logical_date;
  if (!origin.logical_date.empty()) {
    REEL_ASSIGN_OR_RETURN(request.interval, ResolveRunInterval(*workflow, origin.logical_date));
  }
  request.trigger = RunTrigger::kResume;
  request.origin_run_id = origin.run_id;
  request.secrets = SecretsResolver(store.home());
  // Two `reel resume` of one run must not both run its failed steps.
  request.claim = [origin = origin.run_id, again = !from_step.empty()](StateStore& s) {
    return s.ClaimResume(origin, again);
  };
  // A resume whose engine died before its first commit recorded no task at all: what it
  // would have reused is still with the run it resumed, and so on up the chain.
  RunRecord source = origin;
  REEL_ASSIGN_OR_RETURN(auto tasks, store.GetTasks(source.run_id));
  while (tasks.empty() && !source.origin_run_id.empty()) {
    REEL_ASSIGN_OR_RETURN(source, store.GetRun(source.origin_run_id));
    REEL_ASSIGN_OR_RETURN(tasks, store.GetTasks(source.run_id));
  }
  REEL_ASSIGN_OR_RETURN(auto artifacts, store.GetArtifacts(source.run_id));
  for (const auto& task : tasks) {
    if (task.status != TaskStatus::kSucceeded) continue;
    int step = workflow->StepIndex(task.step);
    if (step < 0 || rerun[static_cast<size_t>(step)]) continue;
    ReusedTask reused{task.reused_from.value_or(task.task_id), task.item, task.outputs, {}};
    // Point at the task that actually ran, so that chains of resumes stay short.
    reused.task_id = task.reused_from ? *task.reused_from : task.task_id;
    for (const auto& a : artifacts) {
      if (a.task_id && *a.task_id == task.task_id) reused.artifacts.push_back(a);
    }
    request.reuse.emplace(std::make_pair(task.step, task.item_index), std::move(reused));
  }
  // Slurm jobs nobody collected (the origin's engine died while they were queued or running):
  // the resumed run waits for them instead of submitting them again.
  REEL_ASSIGN_OR_RETURN(auto attempts, store.GetRunAttempts(source.run_id));
  std::map<int64_t, const AttemptRecord*> last_attempt;
  for (const auto& a : attempts) last_attempt[a.task_id] = &a;
  for (const auto& task : tasks) {
    if (task.status == TaskStatus::kSucceeded) continue;
    int step = workflow->StepIndex(task.step);
    if (step < 0 || rerun[static_cast<size_t>(step)]) continue;
    auto it = last_attempt.find(task.task_id);
    if (it == last_attempt.end()) continue;
    const AttemptRecord& a = *it->second;
    if (a.executor != "slurm" || !a.job_state.empty() || a.job_name.empty()) continue;
    auto dir = JobDirOf(store.home(), a.job_name, task.step, task.item_index);
    if (!dir) continue;
    request.adopt.emplace(
        std::make_pair(task.step, task.item_index),
        AdoptedJob{
            .job_name = a.job_name, .job_id = a.job_id, .job_dir = *dir, .log_path = a.log_path});
  }
  return request;
}

}  // namespace reel
