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
  Result<Stmt> st =
      store.db().Prepare(std::string("SELECT ") + kColumns + " FROM schedules WHERE workflow = ?");
  if (!st.ok()) return st.status();
  st->Bind(1, workflow);
  Result<bool> row = st->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ScheduleState>();
  return std::optional<ScheduleState>(ReadState(*st));
}

Status PutScheduleState(StateStore& store, const ScheduleState& state) {
  if (state.workflow.empty()) return Status::InvalidArgument("a schedule needs a workflow name");
  return store.db().Transaction(
      [&]() -> Status {
        Result<Stmt> st = store.db().Prepare(
            std::string("INSERT OR REPLACE INTO schedules(") + kColumns +
            ") VALUES(?, ?, ?, ?, ?, ?, ?)");
        if (!st.ok()) return st.status();
        std::optional<int64_t> at;
        if (state.last_interval) at = state.last_interval->time_since_epoch().count();
        return st
            ->BindAll(state.workflow, state.cron, state.timezone, at, NullIfEmpty(state.last_ds),
                      NullIfEmpty(state.last_run_id),
                      state.updated_at != 0 ? state.updated_at : NowMillis())
            .Run();
      },
      Database::Nesting::kJoin);
}

Result<std::vector<ScheduleState>> ListScheduleStates(StateStore& store) {
  Result<Stmt> st =
      store.db().Prepare(std::string("SELECT ") + kColumns + " FROM schedules ORDER BY workflow");
  if (!st.ok()) return st.status();
  std::vector<ScheduleState> out;
  for (;;) {
    Result<bool> row = st->Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(ReadState(*st));
  }
}

}  // namespace reel
