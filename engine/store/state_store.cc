// StateStore: opening, transactions, workflow versions and runs.
#include "engine/store/state_store.h"

#include <unistd.h>

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "engine/base/fsutil.h"
#include "engine/base/json.h"
#include "engine/base/sha256.h"
#include "engine/store/internal/state_store.h"

namespace reel {

using namespace state_store_internal;

namespace state_store_internal {

Json ParseJsonColumn(const Stmt& st, int col, Json fallback) {
  if (st.IsNull(col)) return fallback;
  std::string text = st.Text(col);
  if (JsonTextDepth(text) > kMaxJsonDepth) return fallback;  // not written by reel
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? fallback : parsed;
}

RunRecord ReadRun(const Stmt& st) {
  RunRecord r;
  r.run_id = st.Text(0);
  r.workflow = st.Text(1);
  r.version_hash = st.Text(2);
  r.params = ParseJsonColumn(st, 3, Json::object());
  r.logical_date = st.Text(4);
  r.status = EnumColumn<RunStatus>(st, 5);
  r.trigger = EnumColumn<RunTrigger>(st, 6);
  r.origin_run_id = st.Text(7);
  r.created_at = st.Int(8);
  r.started_at = st.OptInt(9);
  r.ended_at = st.OptInt(10);
  r.host = st.Text(11);
  r.pid = st.Int(12);
  r.heartbeat_at = st.OptInt(13);
  r.error = st.Text(14);
  r.cancel_requested_at = st.OptInt(15);
  r.owner = st.Text(16);
  r.pid_start = st.Text(17);
  r.note = st.Text(18);
  return r;
}

}  // namespace state_store_internal

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::filesystem::path& home,
                                                     std::span<const Migration> schema,
                                                     Database::Options options) {
  REEL_RETURN_IF_ERROR(MakeDirs(home));
  REEL_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(home / "reel.db", options));
  REEL_RETURN_IF_ERROR(db->Migrate(schema));
  return std::unique_ptr<StateStore>(new StateStore(home, std::move(db)));
}

StateStore::StateStore(std::filesystem::path home, std::unique_ptr<Database> db)
    : home_(std::move(home)), db_(std::move(db)) {
  std::random_device random;
  owner_token_ = fmt::format("{}/{}/{:08x}", HostName(), ::getpid(), random());
}

Status StateStore::Transaction(const std::function<Status()>& body) {
  return db_->Transaction(body, Database::Nesting::kSavepoint);
}

Status StateStore::Write(const std::function<Status()>& body) {
  return db_->Transaction(body, Database::Nesting::kJoin);
}

Result<std::string> StateStore::PutWorkflowVersion(const std::string& name,
                                                   const std::string& yaml) {
  if (name.empty()) return Status::InvalidArgument("a workflow needs a name");
  std::string hash = Sha256::HexOf(yaml);
  Status s = Write([&]() -> Status {
    REEL_ASSIGN_OR_RETURN(
        Stmt st,
        db_->Prepare("INSERT OR IGNORE INTO workflows(name, version_hash, yaml, created_at) "
                     "VALUES(?, ?, ?, ?)"));
    return st.BindAll(name, hash, yaml, NowMillis()).Run();
  });
  if (!s.ok()) return s;
  return hash;
}

Result<std::string> StateStore::GetWorkflowYaml(const std::string& name,
                                                const std::string& version_hash) {
  REEL_ASSIGN_OR_RETURN(
      Stmt st, db_->Prepare("SELECT yaml FROM workflows WHERE name = ? AND version_hash = ?"));
  st.BindAll(name, version_hash);
  REEL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) {
    return Status::NotFound(fmt::format("no version {} of workflow '{}' in '{}'",
                                        version_hash.substr(0, 12), name, db_->path().string()));
  }
  return st.Text(0);
}

Status StateStore::CreateRun(const RunRecord& run) {
  if (run.run_id.empty()) return Status::InvalidArgument("a run needs a run_id (see NewRunId)");
  if (run.workflow.empty()) return Status::InvalidArgument("a run needs a workflow name");
  int64_t now = NowMillis();
  return Write([&]() -> Status {
    REEL_ASSIGN_OR_RETURN(
        Stmt st,
        db_->Prepare(
            "INSERT INTO runs(run_id, workflow, version_hash, params, logical_date, status, "
            "trigger,"
            " origin_run_id, created_at, started_at, ended_at, host, pid, heartbeat_at, error,"
            " cancel_requested_at, owner, pid_start, note)"
            " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    const int64_t pid = run.pid != 0 ? run.pid : static_cast<int64_t>(::getpid());
    st.BindAll(run.run_id, run.workflow, run.version_hash, DumpJson(run.params),
               NullIfEmpty(run.logical_date), ToString(run.status), ToString(run.trigger),
               NullIfEmpty(run.origin_run_id), run.created_at != 0 ? run.created_at : now,
               run.started_at, run.ended_at, run.host.empty() ? HostName() : run.host, pid,
               run.heartbeat_at.value_or(now), NullIfEmpty(run.error), run.cancel_requested_at,
               run.owner.empty() ? owner_token_ : run.owner,
               run.pid_start.empty() ? ProcessStartId(pid) : run.pid_start, NullIfEmpty(run.note));
    Status s = st.Run();
    if (s.code() == Status::Code::kAlreadyExists) {
      return Status::AlreadyExists(fmt::format("run id '{}' is already taken", run.run_id));
    }
    if (s.code() == Status::Code::kInvalidArgument && !run.origin_run_id.empty()) {
      return Status::InvalidArgument(
          fmt::format("cannot record run '{}': its origin run '{}' does not exist ({})", run.run_id,
                      run.origin_run_id, s.message()));
    }
    REEL_RETURN_IF_ERROR(s);
    for (const auto& [key, value] : run.tags) {
      REEL_ASSIGN_OR_RETURN(Stmt tag,
                            db_->Prepare("INSERT INTO run_tags(run_id, key, value) VALUES(?,?,?)"));
      tag.BindAll(run.run_id, key, value);
      REEL_RETURN_IF_ERROR(tag.Run());
    }
    return Status::Ok();
  });
}

Status StateStore::UpdateRunStatus(const std::string& run_id, RunStatus status,
                                   std::optional<std::string> error) {
  return Write([&]() -> Status {
    REEL_RETURN_IF_ERROR(CheckOwner(run_id));
    return SetRunStatus(run_id, status, std::move(error));
  });
}

Status StateStore::SetRunStatus(const std::string& run_id, RunStatus status,
                                std::optional<std::string> error) {
  int64_t now = NowMillis();
  bool terminal = IsTerminal(status);
  return Write([&]() -> Status {
    REEL_ASSIGN_OR_RETURN(
        Stmt st, db_->Prepare("UPDATE runs SET status = ?1,"
                              " started_at = CASE WHEN ?1 = 'running' THEN coalesce(started_at, "
                              "?2) ELSE started_at END,"
                              " ended_at = CASE WHEN ?3 THEN coalesce(ended_at, ?2) ELSE NULL END,"
                              " heartbeat_at = ?2,"
                              " error = CASE WHEN ?4 THEN ?5 ELSE error END"
                              " WHERE run_id = ?6"));
    st.BindAll(ToString(status), now, int64_t{terminal}, int64_t{error.has_value()},
               error ? NullIfEmpty(*error) : std::nullopt, run_id);
    REEL_RETURN_IF_ERROR(st.Run());
    if (st.Changes() == 0) return Status::NotFound(fmt::format("no run '{}'", run_id));
    return Status::Ok();
  });
}

Status StateStore::Heartbeat(const std::string& run_id) {
  return Write([&]() -> Status {
    REEL_RETURN_IF_ERROR(CheckOwner(run_id));
    REEL_ASSIGN_OR_RETURN(Stmt st,
                          db_->Prepare("UPDATE runs SET heartbeat_at = ? WHERE run_id = ?"));
    REEL_RETURN_IF_ERROR(st.BindAll(NowMillis(), run_id).Run());
    if (st.Changes() == 0) return Status::NotFound(fmt::format("no run '{}'", run_id));
    return Status::Ok();
  });
}

Status StateStore::CheckOwner(const std::string& run_id) {
  REEL_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("SELECT owner, error FROM runs WHERE run_id = ?"));
  st.Bind(1, run_id);
  REEL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::Ok();  // the write itself reports the missing run
  return CheckOwnerRow(run_id, st.Text(0), st.Text(1));
}

Status StateStore::CheckTaskOwner(int64_t task_id) {
  REEL_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("SELECT r.run_id, r.owner, r.error FROM tasks t"
                                              " JOIN runs r ON r.run_id = t.run_id"
                                              " WHERE t.task_id = ?"));
  st.Bind(1, task_id);
  REEL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::Ok();
  return CheckOwnerRow(st.Text(0), st.Text(1), st.Text(2));
}

Status StateStore::CheckOwnerRow(const std::string& run_id, const std::string& owner,
                                 const std::string& error) const {
  // Runs recorded before owners existed have none: nobody can take them over.
  if (owner.empty() || owner == owner_token_) return Status::Ok();
  return Status::Conflict(
      fmt::format("this process no longer executes run {}: {}; it stops without writing more",
                  run_id, error.empty() ? "another process owns it" : error));
}

Status StateStore::HeartbeatProcess() {
  return Write([&]() -> Status {
    REEL_ASSIGN_OR_RETURN(
        Stmt st, db_->Prepare("UPDATE runs SET heartbeat_at = ? WHERE host = ? AND pid = ? AND"
                              " status IN ('queued','running') AND owner IN ('', ?)"));
    return st.BindAll(NowMillis(), HostName(), static_cast<int64_t>(::getpid()), owner_token_)
        .Run();
  });
}

Result<std::vector<RunRecord>> StateStore::ListRuns(const RunFilter& filter) {
  // One SQL text per combination of filters, so each stays in the statement cache.
  std::string sql = fmt::format("SELECT {} FROM runs WHERE 1", kRunColumns);
  if (filter.workflow) sql += " AND workflow = :workflow";
  if (filter.status) sql += " AND status = :status";
  if (filter.logical_date) sql += " AND logical_date = :logical_date";
  if (filter.trigger) sql += " AND trigger = :trigger";
  for (size_t i = 0; i < filter.tags.size(); ++i) {
    sql +=
        " AND EXISTS(SELECT 1 FROM run_tags t WHERE t.run_id = runs.run_id AND t.key = ? AND"
        " t.value = ?)";
  }
  sql += " ORDER BY created_at DESC, run_id DESC";
  if (filter.limit > 0) sql += " LIMIT :limit";
  REEL_ASSIGN_OR_RETURN(Stmt st, db_->Prepare(sql));
  int index = 0;
  if (filter.workflow) st.Bind(++index, *filter.workflow);
  if (filter.status) st.Bind(++index, ToString(*filter.status));
  if (filter.logical_date) st.Bind(++index, *filter.logical_date);
  if (filter.trigger) st.Bind(++index, ToString(*filter.trigger));
  for (const auto& [key, value] : filter.tags) {
    st.Bind(++index, key);
    st.Bind(++index, value);
  }
  if (filter.limit > 0) st.Bind(++index, filter.limit);
  REEL_ASSIGN_OR_RETURN(std::vector<RunRecord> runs, Collect<RunRecord>(st, ReadRun));
  for (auto& run : runs) REEL_RETURN_IF_ERROR(ReadTags(run));
  return runs;
}

Result<std::vector<std::string>> StateStore::FindArtifactUris(const std::string& prefix,
                                                              int limit) {
  REEL_ASSIGN_OR_RETURN(Stmt st,
                        db_->Prepare("SELECT DISTINCT uri FROM artifacts WHERE uri >= ? AND uri < ?"
                                     " ORDER BY uri LIMIT ?"));
  st.BindAll(prefix, prefix + '\xff', limit);
  std::vector<std::string> uris;
  while (true) {
    REEL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    uris.push_back(st.Text(0));
  }
  return uris;
}

Status StateStore::ReadTags(RunRecord& run) {
  REEL_ASSIGN_OR_RETURN(
      Stmt st, db_->Prepare("SELECT key, value FROM run_tags WHERE run_id = ? ORDER BY key"));
  st.Bind(1, run.run_id);
  while (true) {
    REEL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    run.tags[st.Text(0)] = st.Text(1);
  }
  return Status::Ok();
}

Result<RunRecord> StateStore::GetRun(const std::string& run_id_or_prefix) {
  const std::string& key = run_id_or_prefix;
  if (key.empty()) return Status::InvalidArgument("empty run id; `reel runs` lists run ids");
  {
    REEL_ASSIGN_OR_RETURN(
        Stmt st, db_->Prepare(fmt::format("SELECT {} FROM runs WHERE run_id = ?", kRunColumns)));
    st.Bind(1, key);
    REEL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (row) {
      RunRecord run = ReadRun(st);
      REEL_RETURN_IF_ERROR(ReadTags(run));
      return run;
    }
  }
  // A prefix: every id in [key, key + 0xff) starts with key (ids are ASCII).
  REEL_ASSIGN_OR_RETURN(
      Stmt st, db_->Prepare(fmt::format(
                   "SELECT {} FROM runs WHERE run_id >= ? AND run_id < ? ORDER BY run_id LIMIT 6",
                   kRunColumns)));
  st.BindAll(key, key + '\xff');
  REEL_ASSIGN_OR_RETURN(std::vector<RunRecord> matches, Collect<RunRecord>(st, ReadRun));
  if (matches.empty()) {
    return Status::NotFound(
        fmt::format("no run '{}' in '{}'; `reel runs` lists run ids", key, db_->path().string()));
  }
  if (matches.size() > 1) {
    std::string list;
    for (size_t i = 0; i < std::min<size_t>(matches.size(), 5); ++i) {
      list += (i ? ", " : "") + matches[i].run_id;
    }
    if (matches.size() > 5) list += ", ...";
    return Status::InvalidArgument(fmt::format(
        "run id prefix '{}' is ambiguous: it matches {}; give more characters", key, list));
  }
  REEL_RETURN_IF_ERROR(ReadTags(matches.front()));
  return std::move(matches.front());
}

}  // namespace reel
