#include "engine/exec/run_interval.h"

namespace reel {

Result<DataInterval> ResolveRunInterval(const Workflow& workflow, const std::string& logical_date) {
  if (!workflow.schedule) return ResolveLogicalDate(DefaultDailySchedule(), logical_date);
  REEL_ASSIGN_OR_RETURN(CronSchedule cron,
                        CronSchedule::Parse(workflow.schedule->cron, workflow.schedule->timezone));
  return ResolveLogicalDate(cron, logical_date);
}

void SetIntervalScope(TemplateScope& scope, const DataInterval& interval) {
  scope.ds = interval.ds;
  scope.logical_date = interval.start_text;
  scope.ts = interval.start_text;
  scope.data_interval_start = interval.start_text;
  scope.data_interval_end = interval.end_text;
}

}  // namespace reel
