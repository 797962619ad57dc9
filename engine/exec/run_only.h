// Running only some steps of a workflow (`reel run FILE --only STEP,...`), the equivalent of
// `airflow tasks test` or `dagster asset materialize --select`: the selected steps run, their
// ancestors' results are reused from an earlier run, and every other step is skipped.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/exec/scheduler.h"

namespace reel {

// The reason recorded on each step that --only leaves out.
inline constexpr const char* kNotSelectedReason = "not selected (--only)";

// The indexes of the steps named in `names` (each entry may itself be a comma-separated list).
// InvalidArgument names an unknown step, with a "did you mean", or an empty selection.
Result<std::vector<int>> SelectSteps(const Workflow& workflow,
                                     const std::vector<std::string>& names);

// A new run of `workflow` (recorded as a manual run whose origin is `from_run`) that executes
// only `selected` (SelectSteps) and the order among them their needs give. Every ancestor of a
// selected step that is not selected itself is reused from `from_run` (a unique prefix is
// enough; empty: the latest succeeded run of the workflow), its outputs and artifacts with it;
// every other step is recorded as skipped with kNotSelectedReason. Params are the origin's,
// but for `overrides`; the logical date is the origin's unless `logical_date` is given.
// NotFound: the workflow has no succeeded run (and `from_run` is empty). InvalidArgument:
// `from_run` names no run, or a run of another workflow. Failed: a step to reuse did not
// succeed in that run (the message names it and says what to do).
Result<RunRequest> PrepareOnly(StateStore& store, WorkflowPtr workflow,
                               const std::vector<int>& selected, const std::string& from_run,
                               const std::map<std::string, std::string>& overrides,
                               const std::string& logical_date);

}  // namespace reel
