// Preparing runs: resolving params for a new run, and rebuilding a run to resume from the
// state store (the workflow version it ran, its params and logical date, what it may reuse).
#pragma once

#include <map>
#include <string>

#include "engine/exec/scheduler.h"

namespace reel {

// Params for a run: each declared param from `overrides` (strings, as given on the command
// line), else from `recorded` (the params of an earlier run, when given), else its default
// (templates rendered with run_id and the variables of the logical date, see
// run_interval.h), coerced to its type. Unknown overrides, missing required params and a
// logical date that does not resolve are InvalidArgument.
Result<Json> ResolveParams(const Workflow& workflow,
                           const std::map<std::string, std::string>& overrides,
                           const std::string& logical_date, const std::string& run_id,
                           const Json* recorded = nullptr);

// A new run of `workflow` (recorded as a workflow version in the store). `recorded`: params
// to keep from an earlier run (see ResolveParams). `logical_date` is a date or an instant
// (ResolveRunInterval; empty: today, UTC); the request records it in its canonical form
// (DataInterval::logical_date).
Result<RunRequest> PrepareRun(StateStore& store, WorkflowPtr workflow,
                              const std::map<std::string, std::string>& overrides,
                              const std::string& logical_date, RunTrigger trigger,
                              const Json* recorded = nullptr);

// A new run that resumes `origin_run_id`: same workflow version, params and logical date;
// succeeded tasks are reused, except `from_step` and everything downstream of it. Its claim
// (StateStore::ClaimResume) makes a second resume of the same run, while this one is active
// or after it succeeded, fail with Conflict before anything runs.
Result<RunRequest> PrepareResume(StateStore& store, const OperatorCatalog& operators,
                                 const std::string& origin_run_id, const std::string& from_step);

// Today's date in UTC, YYYY-MM-DD.
std::string TodayUtc();

}  // namespace reel
