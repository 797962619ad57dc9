// The daemon's durable schedule state: per workflow, the start of the latest schedule interval
// it has decided (fired, or skipped by policy). A table in reel.db (migration 3):
//
//   schedules(workflow PK, cron, timezone, last_interval_at, last_ds, last_run_id, updated_at)
//       last_interval_at: the interval start, in seconds since the Unix epoch (UTC); NULL
//       before the first decision. last_run_id: the run fired for it (NULL when skipped).
//
// The daemon writes a row in the same transaction that creates the run for the interval, so
// after a crash or restart an interval is either fired and recorded or neither: never fired
// twice, never lost. Calls join an open StateStore::Transaction.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/store/state_store.h"

namespace reel {

inline constexpr std::string_view kScheduleStoreSchema = R"sql(
CREATE TABLE schedules(
  workflow         TEXT PRIMARY KEY,
  cron             TEXT NOT NULL,
  timezone         TEXT NOT NULL,
  last_interval_at INTEGER,
  last_ds          TEXT,
  last_run_id      TEXT,
  updated_at       INTEGER NOT NULL
);
)sql";

struct ScheduleState {
  std::string workflow;
  std::string cron;  // the expression in force when the row was last written
  std::string timezone;
  std::optional<std::chrono::sys_seconds> last_interval;  // start of the latest decided interval
  std::string last_ds;
  std::string last_run_id;  // empty when that interval was skipped
  int64_t updated_at = 0;   // ms since the epoch; 0: now
};

// nullopt when the workflow has never been scheduled in this home.
Result<std::optional<ScheduleState>> GetScheduleState(StateStore& store,
                                                      const std::string& workflow);
// Inserts or replaces the row of state.workflow.
Status PutScheduleState(StateStore& store, const ScheduleState& state);
// Every row, by workflow name.
Result<std::vector<ScheduleState>> ListScheduleStates(StateStore& store);

}  // namespace reel
