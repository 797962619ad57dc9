#include "engine/schedule/schedule_store.h"

namespace reel {
namespace {

constexpr const char* kColumns =
    "workflow, cron, timezone, last_interval_at, last_ds, last_run_id, updated_at";

ScheduleState ReadState(const Stmt& st) {
  ScheduleState s;
  s.workflow = st.Text(0);
  s.cron = st.Text(1);
  s.timezone = st.Text(2);
  if (auto at = st.OptInt(3)) s.last_interval = std::chrono::sys_seconds(std::chrono::seconds(*at));
  s.last_ds = st.Text(4);
  s.last_run_id = st.Text(5);
  s.updated_at = st.Int(6);
  return s;
}

std::optional<std::string> NullIfEmpty(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

}  // namespace

Result<std::optional<ScheduleState>> GetScheduleState(StateStore& store,
                                                      const std::string& workflow) {
  REEL_ASSIGN_OR_RETURN(Stmt st, store.db().Prepare(std::string("SELECT ") + kColumns +
                                                    " FROM schedules WHERE workflow = ?"));
  st.Bind(1, workflow);
  REEL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<ScheduleState>();
  return std::optional<ScheduleState>(ReadState(st));
}

Status PutScheduleState(StateStore& store, const ScheduleState& state) {
  if (state.workflow.empty()) return Status::InvalidArgument("a schedule needs a workflow name");
  return store.db().Transaction(
      [&]() -> Status {
        REEL_ASSIGN_OR_RETURN(Stmt st,
                              store.db().Prepare(std::string("INSERT OR REPLACE INTO schedules(") +
                                                 kColumns + ") VALUES(?, ?, ?, ?, ?, ?, ?)"));
        std::optional<int64_t> at;
        if (state.last_interval) at = state.last_interval->time_since_epoch().count();
        return st
            .BindAll(state.workflow, state.cron, state.timezone, at, NullIfEmpty(state.last_ds),
                     NullIfEmpty(state.last_run_id),
                     state.updated_at != 0 ? state.updated_at : NowMillis())
            .Run();
      },
      Database::Nesting::kJoin);
}

Result<std::vector<ScheduleState>> ListScheduleStates(StateStore& store) {
  REEL_ASSIGN_OR_RETURN(Stmt st, store.db().Prepare(std::string("SELECT ") + kColumns +
                                                    " FROM schedules ORDER BY workflow"));
  std::vector<ScheduleState> out;
  for (;;) {
    REEL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return out;
    out.push_back(ReadState(st));
  }
}

}  // namespace reel
