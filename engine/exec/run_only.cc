#include "engine/exec/run_only.h"

#include <set>

#include "engine/exec/runner.h"
#include "engine/workflow/dag.h"

namespace reel {
namespace {

std::vector<std::string> StepNames(const Workflow& workflow) {
  std::vector<std::string> names;
  for (const auto& s : workflow.steps) names.push_back(s.name);
  return names;
}

// The run whose results are reused: `from_run`, or the latest succeeded run of the workflow.
Result<RunRecord> OriginRun(StateStore& store, const Workflow& workflow,
                            const std::string& from_run) {
  if (from_run.empty()) {
    REEL_ASSIGN_OR_RETURN(
        auto runs,
        store.ListRuns({.workflow = workflow.name, .status = RunStatus::kSucceeded, .limit = 1}));
    if (runs.empty()) {
      return Status::NotFound("workflow '" + workflow.name +
                              "' has no succeeded run to take the upstream results from; run it "
                              "whole first, or name a run with --from-run RUN_ID");
    }
    return runs.front();
  }
  auto found = store.GetRun(from_run);
  if (!found.ok()) {  // an id that names no run is a usage error, like `reel resume`'s
    return found.status().code() == Status::Code::kNotFound
               ? Status::InvalidArgument("--from-run: " + found.status().message())
               : found.status();
  }
  RunRecord run = *found;
  if (run.workflow != workflow.name) {
    return Status::InvalidArgument("--from-run " + run.run_id + " is a run of workflow '" +
                                   run.workflow + "', not of '" + workflow.name + "'");
  }
  return run;
}

}  // namespace

Result<std::vector<int>> SelectSteps(const Workflow& workflow,
                                     const std::vector<std::string>& names) {
  std::vector<int> selected;
  for (const auto& entry : names) {
    size_t start = 0;
    while (start <= entry.size()) {
      size_t comma = entry.find(',', start);
      if (comma == std::string::npos) comma = entry.size();
      std::string name = entry.substr(start, comma - start);
      start = comma + 1;
      if (name.empty()) continue;
      int index = workflow.StepIndex(name);
      if (index < 0) {
        std::string guess = ClosestMatch(name, StepNames(workflow));
        std::string all;
        for (const auto& n : StepNames(workflow)) all += (all.empty() ? "" : ", ") + n;
        return Status::InvalidArgument(
            "--only: workflow '" + workflow.name + "' has no step '" + name + "'" +
            (guess.empty() ? "; steps: " + all : "; did you mean '" + guess + "'?"));
      }
      if (std::find(selected.begin(), selected.end(), index) == selected.end()) {
        selected.push_back(index);
      }
    }
  }
  if (selected.empty()) return Status::InvalidArgument("--only: name at least one step");
  return selected;
}

Result<RunRequest> PrepareOnly(StateStore& store, WorkflowPtr workflow,
                               const std::vector<int>& selected, const std::string& from_run,
                               const std::map<std::string, std::string>& overrides,
                               const std::string& logical_date) {
  REEL_ASSIGN_OR_RETURN(RunRecord origin, OriginRun(store, *workflow, from_run));
  const size_t n = workflow->steps.size();
  std::vector<bool> run(n, false), reuse(n, false);
  for (int s : selected) run[static_cast<size_t>(s)] = true;
  Dag dag = Dag::FromWorkflow(*workflow);
  for (int s : selected) {
    std::vector<bool> ancestors = dag.Ancestors(s);
    for (size_t a = 0; a < n; ++a) {
      if (ancestors[a] && !run[a]) reuse[a] = true;
    }
  }
  REEL_ASSIGN_OR_RETURN(auto tasks, store.GetTasks(origin.run_id));
  REEL_ASSIGN_OR_RETURN(auto artifacts, store.GetArtifacts(origin.run_id));
  // Each reused step must have succeeded in the origin run, every task of it.
  for (size_t a = 0; a < n; ++a) {
    if (!reuse[a]) continue;
    const std::string& name = workflow->steps[a].name;
    std::string problem = "has no task in it";
    bool any = false;
    for (const auto& task : tasks) {
      if (task.step != name) continue;
      any = true;
      if (task.status != TaskStatus::kSucceeded) {
        problem = std::string("is ") + std::string(ToString(task.status)) + " there";
        any = false;
        break;
      }
    }
    if (!any) {
      return Status::Failed("step '" + name +
                            "', upstream of the selected steps, did not succeed in run " +
                            origin.run_id + " (it " + problem +
                            "): add it to --only, or pick another run with --from-run");
    }
  }
  REEL_ASSIGN_OR_RETURN(RunRequest request,
                        PrepareRun(store, workflow, overrides,
                                   logical_date.empty() ? origin.logical_date : logical_date,
                                   RunTrigger::kManual, &origin.params));
  request.origin_run_id = origin.run_id;
  for (const auto& task : tasks) {
    int step = workflow->StepIndex(task.step);
    if (step < 0 || !reuse[static_cast<size_t>(step)]) continue;
    ReusedTask reused{task.reused_from.value_or(task.task_id), task.item, task.outputs, {}};
    for (const auto& a : artifacts) {
      if (a.task_id && *a.task_id == task.task_id) reused.artifacts.push_back(a);
    }
    request.reuse.emplace(std::make_pair(task.step, task.item_index), std::move(reused));
  }
  for (size_t s = 0; s < n; ++s) {
    if (!run[s] && !reuse[s]) request.skip.emplace(workflow->steps[s].name, kNotSelectedReason);
  }
  return request;
}

}  // namespace reel
