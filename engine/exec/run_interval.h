// A run's logical date and data interval as its templates see them: `ds`, `logical_date` and
// `ts` (the interval start), `data_interval_start` and `data_interval_end`.
#pragma once

#include <string>

#include "engine/template/template.h"
#include "engine/time/data_interval.h"
#include "engine/workflow/workflow.h"

namespace reel {

// The interval that `logical_date` names for runs of `workflow`: a date YYYY-MM-DD or an
// instant, resolved against the workflow's schedule (daily at 00:00 UTC when it has none); see
// ResolveLogicalDate. Errors are InvalidArgument and say what a valid logical date looks like.
Result<DataInterval> ResolveRunInterval(const Workflow& workflow, const std::string& logical_date);

// Sets ds, logical_date, ts, data_interval_start and data_interval_end of `scope`.
void SetIntervalScope(TemplateScope& scope, const DataInterval& interval);

}  // namespace reel
