// StateStore: orphaned runs, cancel requests; run ids and time helpers.
#include <time.h>
#include <unistd.h>

#include <mutex>
#include <random>

#include <fmt/format.h>

#include "engine/base/fsutil.h"
#include "engine/store/internal/state_store.h"
#include "engine/store/state_store.h"

namespace reel {

using namespace state_store_internal;

namespace {

std::string FormatDuration(int64_t ms) {
  if (ms < 120'000) return fmt::format("{} s", ms / 1000);
  if (ms < 7'200'000) return fmt::format("{} min", ms / 60'000);
  return fmt::format("{} h", ms / 3'600'000);
}

}  // namespace

Result<std::vector<std::string>> StateStore::ReapOrphanedRuns(std::chrono::milliseconds stale) {
  std::vector<std::string> reaped;
  const std::string& host = HostName();
  const int64_t self = ::getpid();
  Status s = db_->Transaction([&]() -> Status {
    reaped.clear();
    int64_t now = NowMillis();
    struct Orphan {
      std::string run_id, reason;
    };
    std::vector<Orphan> orphans;
    {
      REEL_ASSIGN_OR_RETURN(
          Stmt st,
          db_->Prepare("SELECT run_id, host, pid, coalesce(heartbeat_at, created_at), pid_start"
                       " FROM runs WHERE status IN ('queued','running') ORDER BY run_id"));
      for (;;) {
        REEL_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        std::string run_host = st.Text(1);
        int64_t pid = st.Int(2);
        int64_t silent_ms = now - st.Int(3);
        std::string pid_start = st.Text(4);
        if (run_host == host && pid == self) continue;
        std::string owner = fmt::format("pid {} on host {}", pid, run_host);
        if (run_host == host) {
          // On this host the process itself is the truth, never the heartbeat: a process that
          // is stopped (Ctrl-Z), suspended with its machine or behind a clock jump is alive
          // and will go on. A pid now held by another process (another start time) is gone.
          bool alive = pid_start.empty() ? ProcessAlive(pid) : ProcessStartId(pid) == pid_start;
          if (!alive) {
            orphans.push_back({st.Text(0), fmt::format("the reel process that ran it ({}) exited "
                                                       "before the run finished",
                                                       owner)});
          }
        } else if (silent_ms > stale.count()) {
          // Another host's process cannot be asked: its lease (the heartbeat) ran out. Taking
          // the run away below makes that process stop at its next write if it still lives.
          orphans.push_back(
              {st.Text(0), fmt::format("the reel process that ran it ({}) sent no heartbeat "
                                       "for {}",
                                       owner, FormatDuration(silent_ms))});
        }
      }
    }
    for (const Orphan& o : orphans) {
      std::string error =
          fmt::format("{}; `reel resume {}` reruns what did not finish", o.reason, o.run_id);
      REEL_ASSIGN_OR_RETURN(
          Stmt run, db_->Prepare("UPDATE runs SET status = 'failed', ended_at = ?1, error = ?2,"
                                 " owner = 'reaped'"
                                 " WHERE run_id = ?3 AND status IN ('queued','running')"));
      REEL_RETURN_IF_ERROR(run.BindAll(now, error, o.run_id).Run());
      REEL_ASSIGN_OR_RETURN(
          Stmt attempts,
          db_->Prepare(
              "UPDATE attempts SET status = 'failed', ended_at = ?1, error = ?2 WHERE status = "
              "'running' AND task_id IN (SELECT task_id FROM tasks WHERE run_id = ?3)"));
      REEL_RETURN_IF_ERROR(attempts.BindAll(now, o.reason, o.run_id).Run());
      REEL_ASSIGN_OR_RETURN(
          Stmt running, db_->Prepare("UPDATE tasks SET status = 'failed', ended_at = ?1, error = ?2"
                                     " WHERE run_id = ?3 AND status = 'running'"));
      REEL_RETURN_IF_ERROR(running.BindAll(now, o.reason, o.run_id).Run());
      // Tasks that never started will not run in this run any more.
      REEL_ASSIGN_OR_RETURN(Stmt queued,
                            db_->Prepare("UPDATE tasks SET status = 'cancelled', ended_at = ?1"
                                         " WHERE run_id = ?2 AND status = 'queued'"));
      REEL_RETURN_IF_ERROR(queued.BindAll(now, o.run_id).Run());
      EventRecord event;
      event.run_id = o.run_id;
      event.kind = "run.reaped";
      event.payload = {{"reason", o.reason}};
      event.at = now;
      REEL_RETURN_IF_ERROR((AddEvent(event)).status());
      reaped.push_back(o.run_id);
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return reaped;
}

Status StateStore::RequestCancel(const std::string& run_id_or_prefix) {
  return db_->Transaction([&]() -> Status {
    REEL_ASSIGN_OR_RETURN(RunRecord run, GetRun(run_id_or_prefix));
    if (IsTerminal(run.status)) {
      return Status::Conflict(fmt::format("run '{}' has already finished ({}); nothing to cancel",
                                          run.run_id, ToString(run.status)));
    }
    int64_t now = NowMillis();
    REEL_ASSIGN_OR_RETURN(Stmt st,
                          db_->Prepare("UPDATE runs SET cancel_requested_at = "
                                       "coalesce(cancel_requested_at, ?) WHERE run_id = ?"));
    REEL_RETURN_IF_ERROR(st.BindAll(now, run.run_id).Run());
    EventRecord event;
    event.run_id = run.run_id;
    event.kind = "run.cancel_requested";
    event.payload = {{"host", HostName()}, {"pid", static_cast<int64_t>(::getpid())}};
    event.at = now;
    REEL_RETURN_IF_ERROR((AddEvent(event)).status());
    // Nobody will poll the request of a run whose process is gone: finish it here.
    bool own = run.host == HostName() && run.pid == ::getpid();
    if (!own && run.host == HostName() && !ProcessAlive(run.pid)) {
      REEL_RETURN_IF_ERROR(SetRunStatus(
          run.run_id, RunStatus::kCancelled,
          fmt::format("cancelled; its reel process (pid {}) had already exited", run.pid)));
      REEL_ASSIGN_OR_RETURN(Stmt tasks,
                            db_->Prepare("UPDATE tasks SET status = 'cancelled', ended_at = ?1"
                                         " WHERE run_id = ?2 AND status IN ('queued','running')"));
      REEL_RETURN_IF_ERROR(tasks.BindAll(now, run.run_id).Run());
      REEL_ASSIGN_OR_RETURN(
          Stmt attempts,
          db_->Prepare(
              "UPDATE attempts SET status = 'cancelled', ended_at = ?1 WHERE status = 'running'"
              " AND task_id IN (SELECT task_id FROM tasks WHERE run_id = ?2)"));
      REEL_RETURN_IF_ERROR(attempts.BindAll(now, run.run_id).Run());
    }
    return Status::Ok();
  });
}

Status StateStore::ClaimLogicalDate(const std::string& workflow, const std::string& logical_date,
                                    const std::string& expected_latest_run_id) {
  REEL_ASSIGN_OR_RETURN(Stmt st, db_->Prepare("SELECT run_id, status, host, pid FROM runs"
                                              " WHERE workflow = ? AND logical_date = ?"
                                              " ORDER BY created_at DESC, run_id DESC LIMIT 1"));
  st.BindAll(workflow, logical_date);
  REEL_ASSIGN_OR_RETURN(bool row, st.Step());
  const std::string latest = row ? st.Text(0) : "";
  if (latest == expected_latest_run_id) return Status::Ok();
  if (!row) {
    return Status::Conflict(fmt::format("run {} for {} was deleted after this process looked",
                                        expected_latest_run_id, logical_date));
  }
  return Status::Conflict(fmt::format(
      "another process started run {} for {} (it is {}; pid {} on host {}) after this one "
      "looked; not running it twice",
      latest, logical_date, st.Text(1), st.Int(3), st.Text(2)));
}

Status StateStore::ClaimResume(const std::string& origin_run_id, bool again) {
  REEL_ASSIGN_OR_RETURN(Stmt st,
                        db_->Prepare("SELECT run_id, status, host, pid FROM runs"
                                     " WHERE origin_run_id = ?1 AND (status IN ('queued','running')"
                                     " OR (status = 'succeeded' AND NOT ?2))"
                                     " ORDER BY created_at DESC, run_id DESC LIMIT 1"));
  st.BindAll(origin_run_id, int64_t{again});
  REEL_ASSIGN_OR_RETURN(bool row, st.Step());
  if (!row) return Status::Ok();
  std::string status = st.Text(1);
  if (status == "succeeded") {
    return Status::Conflict(
        fmt::format("run {} was already resumed by run {}, which succeeded; nothing is left to "
                    "run (`reel resume {} --from STEP` runs STEP and what follows again)",
                    origin_run_id, st.Text(0), origin_run_id));
  }
  return Status::Conflict(fmt::format(
      "run {} is already being resumed by run {} ({}; pid {} on host {}); wait for it, or "
      "`reel cancel {}`",
      origin_run_id, st.Text(0), status, st.Int(3), st.Text(2), st.Text(0)));
}

bool StateStore::CancelRequested(const std::string& run_id) {
  Result<Stmt> st =
      db_->Prepare("SELECT cancel_requested_at IS NOT NULL FROM runs WHERE run_id = ?");
  if (!st.ok()) return false;
  st->Bind(1, run_id);
  Result<bool> row = st->Step();
  return row.ok() && *row && st->Int(0) != 0;
}

int64_t NowMillis() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string FormatMillisIso(int64_t ms, bool with_millis) {
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int millis = static_cast<int>(ms - secs * 1000);
  time_t t = static_cast<time_t>(secs);
  struct tm tm {};
  gmtime_r(&t, &tm);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900,
                                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (with_millis) out += fmt::format(".{:03}", millis);
  return out + "Z";
}

std::string NewRunId() {
  static std::mutex mu;
  static int64_t last_second = -1;
  static uint32_t counter = 0;
  static std::mt19937 rng{std::random_device{}() ^ static_cast<uint32_t>(::getpid())};
  int64_t ms = NowMillis();
  uint32_t suffix;
  {
    std::lock_guard<std::mutex> lock(mu);
    int64_t second = ms / 1000;
    if (second > last_second) {
      last_second = second;
      counter = rng() & 0x7fffff;  // headroom so that counting up stays at six digits
    } else {
      ++counter;
    }
    suffix = counter;
    ms = last_second * 1000;  // a clock step backwards keeps ids ordered
  }
  std::string stamp = FormatMillisIso(ms, /*with_millis=*/false);  // 2026-11-29T03:15:00Z
  std::string compact;
  for (char c : stamp) {
    if (c != '-' && c != ':' && c != 'Z') compact += c;
  }
  return fmt::format("{}-{:06x}", compact, suffix);
}

}  // namespace reel
