// StateStore: tasks, attempts, artifacts, metrics and events.
#include <unistd.h>

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "engine/base/fsutil.h"
#include "engine/store/internal/state_store.h"
#include "engine/store/state_store.h"

namespace reel {

using namespace state_store_internal;

namespace {

constexpr const char* kTaskColumns =
    "task_id, run_id, step, item_index, item, status, attempts, outputs, started_at, ended_at,"
    " error, reused_from, cache_key, cache_parts, cache_from_task, cache_from_run";

TaskRecord ReadTask(const Stmt& st) {
  TaskRecord t;
  t.task_id = st.Int(0);
  t.run_id = st.Text(1);
  t.step = st.Text(2);
  t.item_index = st.Int(3);
  t.item = ParseJsonColumn(st, 4, Json());
  t.status = EnumColumn<TaskStatus>(st, 5);
  t.attempts = static_cast<int>(st.Int(6));
  t.outputs = ParseJsonColumn(st, 7, Json::object());
  t.started_at = st.OptInt(8);
  t.ended_at = st.OptInt(9);
  t.error = st.Text(10);
  t.reused_from = st.OptInt(11);
  t.cache_key = st.Text(12);
  t.cache_parts = ParseJsonColumn(st, 13, Json());
  t.cache_from_task = st.OptInt(14);
  t.cache_from_run = st.Text(15);
  return t;
}

constexpr const char* kAttemptColumns =
    "a.task_id, a.attempt, a.status, a.started_at, a.ended_at, a.error, a.exit_code, a.log_path,"
    " a.host, a.pid, a.executor, a.job_name, a.job_id, a.job_state";

AttemptRecord ReadAttempt(const Stmt& st) {
  AttemptRecord a;
  a.task_id = st.Int(0);
  a.attempt = static_cast<int>(st.Int(1));
  a.status = EnumColumn<AttemptStatus>(st, 2);
  a.started_at = st.Int(3);
  a.ended_at = st.OptInt(4);
  a.error = st.Text(5);
  if (!st.IsNull(6)) a.exit_code = static_cast<int>(st.Int(6));
  a.log_path = st.Text(7);
  a.host = st.Text(8);
  a.pid = st.Int(9);
  a.executor = st.Text(10);
  a.job_name = st.Text(11);
  a.job_id = st.Text(12);
  a.job_state = st.Text(13);
  return a;
}

EventRecord ReadEvent(const Stmt& st) {
  EventRecord e;
  e.id = st.Int(0);
  e.run_id = st.Text(1);
  e.kind = st.Text(2);
  e.payload = ParseJsonColumn(st, 3, Json::object());
  e.at = st.Int(4);
  return e;
}

std::optional<std::string> JsonOrNull(const Json& j) {
  if (j.is_null()) return std::nullopt;
  return DumpJson(j);
}

}  // namespace

Result<int64_t> StateStore::CreateTask(const TaskRecord& task) {
  if (task.step.empty()) return Status::InvalidArgument("a task needs a step name");
  int64_t task_id = 0;
  Status s = Write([&]() -> Status {
    REEL_RETURN_IF_ERROR(CheckOwner(task.run_id));
    REEL_ASSIGN_OR_RETURN(
        Stmt st,
        db_->Prepare("INSERT INTO tasks(run_id, step, item_index, item, status, attempts, outputs,"
                     " started_at, ended_at, error, reused_from) VALUES(?,?,?,?,?,?,?,?,?,?,?)"));
    st.BindAll(task.run_id, task.step, task.item_index, JsonOrNull(task.item),
               ToString(task.status), task.attempts,
               task.outputs.is_null() ? std::string("{}") : DumpJson(task.outputs), task.started_at,
               task.ended_at, NullIfEmpty(task.error), task.reused_from);
    Status run = st.Run();
    if (run.code() == Status::Code::kAlreadyExists) {
      return Status::AlreadyExists(
          fmt::format("run '{}' already has a task for step '{}'{}", task.run_id, task.step,
                      task.item_index >= 0 ? fmt::format(" item {}", task.item_index) : ""));
    }
    if (run.code() == Status::Code::kInvalidArgument) {
      return Status::InvalidArgument(
          fmt::format("cannot record task '{}': run '{}' (or the reused task) does not exist ({})",
                      task.step, task.run_id, run.message()));
    }
    REEL_RETURN_IF_ERROR(run);
    task_id = st.LastInsertRowId();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return task_id;
}

Status StateStore::UpdateTask(int64_t task_id, TaskStatus status, const Json* outputs,
                              std::optional<std::string> error) {
  int64_t now = NowMillis();
  return Write([&]() -> Status {
    REEL_RETURN_IF_ERROR(CheckTaskOwner(task_id));
    REEL_ASSIGN_OR_RETURN(
        Stmt st, db_->Prepare("UPDATE tasks SET status = ?1,"
                              " started_at = CASE WHEN ?1 = 'running' THEN coalesce(started_at, "
                              "?2) ELSE started_at END,"
                              " ended_at = CASE WHEN ?3 THEN coalesce(ended_at, ?2) ELSE NULL END,"
                              " outputs = coalesce(?4, outputs),"
                              " error = CASE WHEN ?5 THEN ?6 ELSE error END"
                              " WHERE task_id = ?7"));
    std::optional<std::string> out_text;
    if (outputs != nullptr) out_text = DumpJson(*outputs);
    st.BindAll(ToString(status), now, int64_t{IsTerminal(status)}, out_text,
               int64_t{error.has_value()}, error ? NullIfEmpty(*error) : std::nullopt, task_id);
    REEL_RETURN_IF_ERROR(st.Run());
    if (st.Changes() == 0) return Status::NotFound(fmt::format("no task {}", task_id));
    return Status::Ok();
  });
}

Status StateStore::StartAttempt(const AttemptRecord& a) {
  if (a.attempt < 1) {
    return Status::InvalidArgument(fmt::format("attempt numbers start at 1, got {}", a.attempt));
  }
  static const int64_t pid = ::getpid();  // set on first use, in the process that records
  return Write([&]() -> Status {
    REEL_RETURN_IF_ERROR(CheckTaskOwner(a.task_id));
    REEL_ASSIGN_OR_RETURN(
        Stmt st,
        db_->Prepare(
            "INSERT INTO attempts(task_id, attempt, status, started_at, ended_at, error, exit_code,"
            " log_path, host, pid, executor, job_name, job_id, job_state)"
            " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    st.BindAll(a.task_id, a.attempt, ToString(a.status),
               a.started_at != 0 ? a.started_at : NowMillis(), a.ended_at, NullIfEmpty(a.error),
               a.exit_code, NullIfEmpty(a.log_path), a.host.empty() ? HostName() : a.host,
               a.pid != 0 ? a.pid : pid, a.executor.empty() ? "local" : a.executor,
               NullIfEmpty(a.job_name), NullIfEmpty(a.job_id), NullIfEmpty(a.job_state));
    Status s = st.Run();
    if (s.code() == Status::Code::kAlreadyExists) {
      return Status::AlreadyExists(
          fmt::format("task {} already has an attempt {}", a.task_id, a.attempt));
    }
    if (s.code() == Status::Code::kInvalidArgument) {
      return Status::NotFound(
          fmt::format("no task {} to start attempt {} of", a.task_id, a.attempt));
    }
    REEL_RETURN_IF_ERROR(s);
    REEL_ASSIGN_OR_RETURN(
        Stmt up,
        db_->Prepare(
            "UPDATE tasks SET attempts = max(attempts, ?), started_at = coalesce(started_at, ?)"
            " WHERE task_id = ?"));
    return up.BindAll(a.attempt, a.started_at != 0 ? a.started_at : NowMillis(), a.task_id).Run();
  });
}

Status StateStore::FinishAttempt(int64_t task_id, int attempt, AttemptStatus status,
                                 const std::string& error, std::optional<int> exit_code,
                                 const std::string& job_state) {
  return Write([&]() -> Status {
    REEL_RETURN_IF_ERROR(CheckTaskOwner(task_id));
    REEL_ASSIGN_OR_RETURN(Stmt st,
                          db_->Prepare("UPDATE attempts SET status = ?, ended_at = ?, error = ?,"
                                       " exit_code = ?, job_state = coalesce(?, job_state)"
                                       " WHERE task_id = ? AND attempt = ?"));
    st.BindAll(ToString(status), NowMillis(), NullIfEmpty(error), exit_code, NullIfEmpty(job_state),
               task_id, attempt);
    REEL_RETURN_IF_ERROR(st.Run());
    if (st.Changes() == 0) {
      return Status::NotFound(fmt::format("no attempt {} of task {}", attempt, task_id));
    }
    return Status::Ok();
  });
}

Status StateStore::SetAttemptJob(int64_t task_id, int attempt, const std::string& job_id) {
  return Write([&]() -> Status {
    REEL_RETURN_IF_ERROR(CheckTaskOwner(task_id));
    REEL_ASSIGN_OR_RETURN(
        Stmt st, db_->Prepare("UPDATE attempts SET job_id = ? WHERE task_id = ? AND attempt = ?"));
    st.BindAll(job_id, task_id, attempt);
    REEL_RETURN_IF_ERROR(st.Run());
    if (st.Changes() == 0) {
      return Status::NotFound(fmt::format("no attempt {} of task {}", attempt, task_id));
    }
    return Status::Ok();
  });
}

Status StateStore::AddArtifact(const ArtifactRecord& r) {
  return Write([&]() -> Status {
    REEL_RETURN_IF_ERROR(CheckOwner(r.run_id));
    REEL_ASSIGN_OR_RETURN(
        Stmt st, db_->Prepare("INSERT INTO artifacts(run_id, task_id, name, uri, size, created_at)"
                              " VALUES(?,?,?,?,?,?)"));
    st.BindAll(r.run_id, r.task_id, SanitizeUtf8(r.name), r.uri, r.size,
               r.created_at != 0 ? r.created_at : NowMillis());
    return st.Run();
  });
}

Status StateStore::AddMetric(const MetricRecord& m) {
  return Write([&]() -> Status {
    REEL_RETURN_IF_ERROR(CheckOwner(m.run_id));
    REEL_ASSIGN_OR_RETURN(
        Stmt st,
        db_->Prepare(
            "INSERT INTO metrics(run_id, task_id, key, value, step, at) VALUES(?,?,?,?,?,?)"));
    std::optional<double> value;
    if (!std::isnan(m.value)) value = m.value;
    st.BindAll(m.run_id, m.task_id, SanitizeUtf8(m.key), value, m.step,
               m.at != 0 ? m.at : NowMillis());
    return st.Run();
  });
}

Result<int64_t> StateStore::AddEvent(const EventRecord& e) {
  if (e.kind.empty()) return Status::InvalidArgument("an event needs a kind");
  int64_t id = 0;
  Status s = Write([&]() -> Status {
    REEL_ASSIGN_OR_RETURN(
        Stmt st, db_->Prepare("INSERT INTO events(run_id, kind, payload, at) VALUES(?,?,?,?)"));
    st.BindAll(NullIfEmpty(e.run_id), SanitizeUtf8(e.kind), DumpJson(e.payload),
               e.at != 0 ? e.at : NowMillis());
    REEL_RETURN_IF_ERROR(st.Run());
    id = st.LastInsertRowId();
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return id;
}

Result<std::optional<CachedTask>> StateStore::FindCachedTask(const std::string& key,
                                                             const std::string& except_run) {
  REEL_ASSIGN_OR_RETURN(
      Stmt st,
      db_->Prepare("SELECT task_id, coalesce(cache_from_task, task_id),"
                   " coalesce(cache_from_run, run_id), outputs FROM tasks WHERE cache_key = ? AND"
                   " status = 'succeeded' AND run_id <> ? ORDER BY task_id DESC LIMIT 1"));
  st.BindAll(key, except_run);
  REEL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<CachedTask>();
  // A task that was itself completed from the cache names the task that ran.
  const int64_t found = st.Int(0);
  CachedTask c;
  c.task_id = st.Int(1);
  c.run_id = st.Text(2);
  c.outputs = ParseJsonColumn(st, 3, Json::object());
  REEL_ASSIGN_OR_RETURN(
      Stmt arts,
      db_->Prepare("SELECT name, uri, size FROM artifacts WHERE task_id = ? ORDER BY id"));
  arts.Bind(1, found);
  REEL_ASSIGN_OR_RETURN(c.artifacts, Collect<ArtifactRecord>(arts, [](const Stmt& s) {
                          ArtifactRecord a;
                          a.name = s.Text(0);
                          a.uri = s.Text(1);
                          a.size = s.Int(2);
                          return a;
                        }));
  REEL_ASSIGN_OR_RETURN(
      Stmt mets,
      db_->Prepare("SELECT key, value, step FROM metrics WHERE task_id = ? ORDER BY id"));
  mets.Bind(1, found);
  REEL_ASSIGN_OR_RETURN(c.metrics, Collect<MetricRecord>(mets, [](const Stmt& s) {
                          MetricRecord m;
                          m.key = s.Text(0);
                          m.value =
                              s.IsNull(1) ? std::numeric_limits<double>::quiet_NaN() : s.Double(1);
                          m.step = s.Int(2);
                          return m;
                        }));
  return std::optional<CachedTask>(std::move(c));
}

Status StateStore::SetTaskCacheKey(int64_t task_id, const std::string& key, const Json& parts) {
  return Write([&]() -> Status {
    REEL_RETURN_IF_ERROR(CheckTaskOwner(task_id));
    REEL_ASSIGN_OR_RETURN(
        Stmt st, db_->Prepare("UPDATE tasks SET cache_key = ?, cache_parts = ? WHERE task_id = ?"));
    return st.BindAll(key, DumpJson(parts), task_id).Run();
  });
}

Status StateStore::CompleteFromCache(int64_t task_id, const std::string& key, const Json& parts,
                                     const CachedTask& from) {
  int64_t now = NowMillis();
  return Write([&]() -> Status {
    REEL_RETURN_IF_ERROR(CheckTaskOwner(task_id));
    REEL_ASSIGN_OR_RETURN(Stmt find, db_->Prepare("SELECT run_id FROM tasks WHERE task_id = ?"));
    find.Bind(1, task_id);
    REEL_ASSIGN_OR_RETURN(bool row, find.Step());
    if (!row) return Status::NotFound(fmt::format("no task {}", task_id));
    std::string run_id = find.Text(0);
    REEL_ASSIGN_OR_RETURN(
        Stmt st, db_->Prepare("UPDATE tasks SET status = 'succeeded', outputs = ?,"
                              " started_at = coalesce(started_at, ?), ended_at = ?, error = NULL,"
                              " cache_key = ?, cache_parts = ?, cache_from_task = ?,"
                              " cache_from_run = ? WHERE task_id = ?"));
    st.BindAll(DumpJson(from.outputs), now, now, key, DumpJson(parts), from.task_id, from.run_id,
               task_id);
    REEL_RETURN_IF_ERROR(st.Run());
    for (ArtifactRecord a : from.artifacts) {
      REEL_ASSIGN_OR_RETURN(Stmt ins,
                            db_->Prepare("INSERT INTO artifacts(run_id, task_id, name, uri, size,"
                                         " created_at) VALUES(?,?,?,?,?,?)"));
      REEL_RETURN_IF_ERROR(ins.BindAll(run_id, task_id, a.name, a.uri, a.size, now).Run());
    }
    for (const MetricRecord& m : from.metrics) {
      REEL_ASSIGN_OR_RETURN(
          Stmt ins, db_->Prepare("INSERT INTO metrics(run_id, task_id, key, value, step, at)"
                                 " VALUES(?,?,?,?,?,?)"));
      std::optional<double> value;
      if (!std::isnan(m.value)) value = m.value;
      REEL_RETURN_IF_ERROR(ins.BindAll(run_id, task_id, m.key, value, m.step, now).Run());
    }
    return Status::Ok();
  });
}

Result<std::optional<TaskRecord>> StateStore::PreviousKeyedTask(const std::string& workflow,
                                                                const std::string& step,
                                                                int64_t item_index,
                                                                int64_t before_task_id) {
  REEL_ASSIGN_OR_RETURN(
      Stmt st,
      db_->Prepare(fmt::format(
          "SELECT {} FROM tasks WHERE step = ? AND item_index = ? AND task_id < ? AND"
          " cache_key IS NOT NULL AND run_id IN (SELECT run_id FROM runs WHERE workflow = ?)"
          " ORDER BY task_id DESC LIMIT 1",
          kTaskColumns)));
  st.BindAll(step, item_index, before_task_id, workflow);
  REEL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return std::optional<TaskRecord>();
  return std::optional<TaskRecord>(ReadTask(st));
}

Result<std::vector<TaskRecord>> StateStore::GetTasks(const std::string& run_id) {
  REEL_ASSIGN_OR_RETURN(
      Stmt st, db_->Prepare(fmt::format("SELECT {} FROM tasks WHERE run_id = ? ORDER BY task_id",
                                        kTaskColumns)));
  st.Bind(1, run_id);
  return Collect<TaskRecord>(st, ReadTask);
}

Result<TaskRecord> StateStore::GetTask(int64_t task_id) {
  REEL_ASSIGN_OR_RETURN(
      Stmt st, db_->Prepare(fmt::format("SELECT {} FROM tasks WHERE task_id = ?", kTaskColumns)));
  st.Bind(1, task_id);
  REEL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::NotFound(fmt::format("no task {}", task_id));
  return ReadTask(st);
}

Result<std::vector<AttemptRecord>> StateStore::GetAttempts(int64_t task_id) {
  REEL_ASSIGN_OR_RETURN(
      Stmt st,
      db_->Prepare(fmt::format("SELECT {} FROM attempts a WHERE a.task_id = ? ORDER BY a.attempt",
                               kAttemptColumns)));
  st.Bind(1, task_id);
  return Collect<AttemptRecord>(st, ReadAttempt);
}

Result<std::vector<AttemptRecord>> StateStore::GetRunAttempts(const std::string& run_id) {
  REEL_ASSIGN_OR_RETURN(
      Stmt st,
      db_->Prepare(fmt::format(
          "SELECT {} FROM attempts a JOIN tasks t ON t.task_id = a.task_id WHERE t.run_id = ?"
          " ORDER BY a.task_id, a.attempt",
          kAttemptColumns)));
  st.Bind(1, run_id);
  return Collect<AttemptRecord>(st, ReadAttempt);
}

Result<std::vector<MetricRecord>> StateStore::GetMetrics(const std::string& run_id) {
  REEL_ASSIGN_OR_RETURN(
      Stmt st,
      db_->Prepare("SELECT m.run_id, m.task_id, m.key, m.value, m.step, m.at, t.step FROM metrics m"
                   " LEFT JOIN tasks t ON t.task_id = m.task_id WHERE m.run_id = ?"
                   " ORDER BY m.task_id, m.key, m.step, m.id"));
  st.Bind(1, run_id);
  return Collect<MetricRecord>(st, [](const Stmt& s) {
    MetricRecord m;
    m.run_id = s.Text(0);
    m.task_id = s.OptInt(1);
    m.key = s.Text(2);
    m.value = s.IsNull(3) ? std::numeric_limits<double>::quiet_NaN() : s.Double(3);
    m.step = s.Int(4);
    m.at = s.Int(5);
    m.task_step = s.Text(6);
    return m;
  });
}

Result<std::vector<ArtifactRecord>> StateStore::GetArtifacts(const std::string& run_id) {
  REEL_ASSIGN_OR_RETURN(
      Stmt st,
      db_->Prepare(
          "SELECT a.run_id, a.task_id, a.name, a.uri, a.size, a.created_at, t.step FROM artifacts a"
          " LEFT JOIN tasks t ON t.task_id = a.task_id WHERE a.run_id = ? ORDER BY a.id"));
  st.Bind(1, run_id);
  return Collect<ArtifactRecord>(st, [](const Stmt& s) {
    ArtifactRecord a;
    a.run_id = s.Text(0);
    a.task_id = s.OptInt(1);
    a.name = s.Text(2);
    a.uri = s.Text(3);
    a.size = s.Int(4);
    a.created_at = s.Int(5);
    a.step = s.Text(6);
    return a;
  });
}

Result<std::vector<EventRecord>> StateStore::GetEvents(const std::string& run_id) {
  REEL_ASSIGN_OR_RETURN(
      Stmt st,
      db_->Prepare(
          "SELECT id, run_id, kind, payload, at FROM events WHERE run_id = ? ORDER BY id"));
  st.Bind(1, run_id);
  return Collect<EventRecord>(st, ReadEvent);
}

Result<std::vector<EventRecord>> StateStore::ListEvents(const std::string& kind, int limit) {
  REEL_ASSIGN_OR_RETURN(
      Stmt st,
      db_->Prepare("SELECT id, run_id, kind, payload, at FROM events WHERE (?1 = '' OR kind = ?1)"
                   " ORDER BY id DESC LIMIT ?2"));
  st.BindAll(kind, limit > 0 ? limit : -1);
  return Collect<EventRecord>(st, ReadEvent);
}

}  // namespace reel
