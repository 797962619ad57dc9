// The daemon's polls: watching the folder and deciding what is due. Run threads, shutdown and
// the serve loop are in daemon_runs.cc.
#include "engine/schedule/daemon.h"

#include <algorithm>
#include <deque>

#include <fmt/format.h>

#include "engine/exec/runner.h"
#include "engine/schedule/backfill_plan.h"
#include "engine/schedule/schedule_store.h"
#include "engine/workflow/loader.h"

namespace reel {

using std::chrono::sys_seconds;
using Kind = DaemonDecision::Kind;

std::string IntervalDs(const CronSchedule& cron, sys_seconds start) {
  return FormatDate(cron.zone().LocalDate(start));
}

std::string IntervalLogicalDate(const CronSchedule& cron, sys_seconds start) {
  return FiresSeveralTimesADay(cron) ? FormatIsoUtc(start) : IntervalDs(cron, start);
}

namespace {

// How the log names an interval: "ds=2026-11-28", or for a schedule that fires several times
// a day, whose intervals share a ds, "logical_date=2026-11-28T06:00:00Z".
std::string IntervalLabel(const CronSchedule& cron, sys_seconds start) {
  return (FiresSeveralTimesADay(cron) ? "logical_date=" : "ds=") + IntervalLogicalDate(cron, start);
}

// "ds 2026-11-28..2026-11-30", or "logical dates 2026-11-28T06:00:00Z..2026-11-28T09:00:00Z".
std::string IntervalRange(const CronSchedule& cron, sys_seconds first, sys_seconds last) {
  return fmt::format("{} {}..{}", FiresSeveralTimesADay(cron) ? "logical dates" : "ds",
                     IntervalLogicalDate(cron, first), IntervalLogicalDate(cron, last));
}

}  // namespace

Result<DueIntervals> FindDueIntervals(const CronSchedule& cron, const Schedule& schedule,
                                      std::optional<sys_seconds> last, sys_seconds now) {
  constexpr std::chrono::seconds kSecond{1};
  DueIntervals due;
  due.decided_before = last.value_or(sys_seconds{});
  // The latest interval that has ended: it ends at the latest fire time at or before now.
  Result<sys_seconds> end = cron.PrevAtOrBefore(now);
  Result<sys_seconds> latest =
      end.ok() ? cron.PrevAtOrBefore(*end - kSecond) : Result<sys_seconds>(end.status());
  if (!latest.ok()) {
    if (latest.status().code() == Status::Code::kNotFound) return due;  // none has ended yet
    return latest.status();
  }
  if (!last) {
    // First sight: the latest ended interval is due, nothing before it.
    due.first_sight = true;
    Result<sys_seconds> before = cron.PrevAtOrBefore(*latest - kSecond);
    due.decided_before = before.ok() ? *before : *latest - kSecond;
  }
  sys_seconds from = due.decided_before;
  if (schedule.start_date) {
    REEL_ASSIGN_OR_RETURN(date::year_month_day day, ParseDate(*schedule.start_date));
    from = std::max(from, cron.zone().StartOfDay(day) - kSecond);
  }
  const size_t keep =
      schedule.catchup ? static_cast<size_t>(std::max(1, schedule.catchup_limit)) : 1;
  std::deque<sys_seconds> kept;
  Result<sys_seconds> start = cron.NextAfter(from);
  while (start.ok() && *start <= *latest) {
    kept.push_back(*start);
    if (kept.size() > keep) {
      if (due.dropped++ == 0) due.first_dropped = kept.front();
      due.last_dropped = kept.front();
      kept.pop_front();
    }
    start = cron.NextAfter(*start);
  }
  if (!start.ok() && start.status().code() != Status::Code::kNotFound) return start.status();
  due.to_run.assign(kept.begin(), kept.end());
  return due;
}

Result<std::optional<sys_seconds>> LatestEndedInterval(const CronSchedule& cron,
                                                       const Schedule& schedule, sys_seconds now) {
  REEL_ASSIGN_OR_RETURN(DueIntervals due, FindDueIntervals(cron, schedule, std::nullopt, now));
  if (due.to_run.empty()) return std::optional<sys_seconds>();
  return std::optional<sys_seconds>(due.to_run.back());
}

Daemon::Daemon(StateStore& store, ArtifactStore& artifacts, OperatorCatalog operators,
               DaemonOptions options, LogSink log)
    : store_(store),
      artifacts_(artifacts),
      operators_(std::move(operators)),
      options_(std::move(options)),
      log_(std::move(log)) {}

void Daemon::Log(const std::string& line) {
  std::lock_guard<std::mutex> lock(log_mu_);
  if (log_) log_(line);
}

void Daemon::Decide(std::vector<DaemonDecision>& out, DaemonDecision decision) {
  Log(decision.message);
  out.push_back(std::move(decision));
}

std::vector<DaemonDecision> Daemon::Tick(sys_seconds now) {
  std::vector<DaemonDecision> out;
  if (stopping_) return out;
  JoinFinishedRuns();
  ScanFiles(out);
  for (const auto& [name, watched] : files_) {
    if (watched.workflow) ScheduleWorkflow(name, watched, now, out);
  }
  return out;
}

std::optional<sys_seconds> Daemon::NextDue(sys_seconds now) const {
  std::optional<sys_seconds> next;
  for (const auto& [name, watched] : files_) {
    if (!watched.cron) continue;
    Result<sys_seconds> fire = watched.cron->NextAfter(now);
    if (fire.ok() && (!next || *fire < *next)) next = *fire;
  }
  return next;
}

void Daemon::ScanFiles(std::vector<DaemonDecision>& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> names;
  if (fs::is_directory(options_.workflows_dir, ec)) {
    for (fs::directory_iterator it(options_.workflows_dir, ec), end; !ec && it != end;
         it.increment(ec)) {
      std::string ext = it->path().extension().string();
      if ((ext == ".yaml" || ext == ".yml") && it->is_regular_file(ec)) {
        names.push_back(it->path().filename().string());
      }
    }
  } else if (!ec) {
    ec = std::make_error_code(std::errc::not_a_directory);
  }
  if (ec) {
    // Keep scheduling what is loaded: a folder that vanishes for a moment (a deploy swapping
    // it) must not stop every schedule.
    if (!folder_error_logged_) {
      Decide(out, {.kind = Kind::kError,
                   .message =
                       fmt::format("cannot read the workflows folder '{}': {}; keeping the {} "
                                   "workflow file(s) already loaded",
                                   options_.workflows_dir.string(), ec.message(), files_.size())});
    }
    folder_error_logged_ = true;
    return;
  }
  folder_error_logged_ = false;
  std::sort(names.begin(), names.end());
  for (auto it = files_.begin(); it != files_.end();) {
    if (std::binary_search(names.begin(), names.end(), it->first)) {
      ++it;
      continue;
    }
    if (it->second.workflow) {
      Decide(out, {.kind = Kind::kRemoved,
                   .file = it->first,
                   .workflow = it->second.workflow->name,
                   .message = fmt::format("removed {}: workflow {} is no longer scheduled",
                                          it->first, it->second.workflow->name)});
    }
    it = files_.erase(it);
  }
  for (const std::string& name : names) {
    Diagnostics diags;
    Result<std::string> text =
        ReadSourceFile((options_.workflows_dir / name).string(), YamlLimits{}, diags);
    // An unreadable file is remembered by its error, so that it is reported once.
    std::string content = text.ok() ? *text : "\x01" + diags.Format();
    auto known = files_.find(name);
    if (known != files_.end() && known->second.text == content) continue;
    if (!text.ok()) {
      bool was_scheduled = known != files_.end() && known->second.workflow;
      Decide(out,
             {.kind = Kind::kInvalid,
              .file = name,
              .workflow = was_scheduled ? known->second.workflow->name : "",
              .message = fmt::format("cannot read {}; not scheduled:\n{}", name, diags.Format())});
      files_[name] = WatchedFile{content, nullptr, std::nullopt, ""};
      continue;
    }
    LoadFile(name, content, out);
  }
}

void Daemon::LoadFile(const std::string& name, const std::string& text,
                      std::vector<DaemonDecision>& out) {
  const std::string path = (options_.workflows_dir / name).string();
  auto known = files_.find(name);
  const WatchedFile* before =
      known != files_.end() && known->second.workflow ? &known->second : nullptr;
  WatchedFile entry{text, nullptr, std::nullopt, ""};
  Diagnostics diags;
  LoadOptions load;
  load.load_plugin = options_.load_plugin;
  WorkflowPtr workflow = LoadWorkflowText(path, text, operators_, diags, load);
  std::string stop_note =
      before ? "; workflow " + before->workflow->name + " is not scheduled until it is fixed"
             : "; not scheduled until it is fixed";
  if (!workflow) {
    std::string report = diags.Format();
    while (!report.empty() && report.back() == '\n') report.pop_back();
    Decide(out, {.kind = Kind::kInvalid,
                 .file = name,
                 .workflow = before ? before->workflow->name : "",
                 .message = fmt::format("invalid {}{}:\n{}", name, stop_note, report)});
    files_[name] = std::move(entry);
    return;
  }
  if (!workflow->schedule) {
    Decide(out, {.kind = before ? Kind::kRemoved : Kind::kIgnored,
                 .file = name,
                 .workflow = workflow->name,
                 .message = fmt::format("{} {}: workflow {} has no schedule",
                                        before ? "removed" : "ignored", name, workflow->name)});
    files_[name] = std::move(entry);
    return;
  }
  for (const auto& [other, watched] : files_) {
    if (other != name && watched.workflow && watched.workflow->name == workflow->name) {
      Decide(out, {.kind = Kind::kInvalid,
                   .file = name,
                   .workflow = workflow->name,
                   .message =
                       fmt::format("invalid {}: workflow {} is already scheduled from {}; give one "
                                   "of them another name{}",
                                   name, workflow->name, other, stop_note)});
      files_[name] = std::move(entry);
      return;
    }
  }
  Result<CronSchedule> cron =
      CronSchedule::Parse(workflow->schedule->cron, workflow->schedule->timezone);
  if (!cron.ok()) {  // the loader validates schedules, so this is a safety net
    Decide(out,
           {.kind = Kind::kInvalid,
            .file = name,
            .workflow = workflow->name,
            .message = fmt::format("invalid {}: {}{}", name, cron.status().message(), stop_note)});
    files_[name] = std::move(entry);
    return;
  }
  Result<std::string> version = store_.PutWorkflowVersion(workflow->name, workflow->source);
  if (!version.ok()) {
    // Not remembered, so the next poll tries again.
    Decide(out, {.kind = Kind::kError,
                 .file = name,
                 .workflow = workflow->name,
                 .message =
                     fmt::format("cannot record workflow {} from {}: {}; retrying at the next poll",
                                 workflow->name, name, version.status().message())});
    return;
  }
  entry.workflow = workflow;
  entry.cron = *cron;
  entry.version = *version;
  const std::string schedule_text =
      fmt::format("cron '{}' in {}", cron->expression(), cron->timezone());
  if (before) {
    std::string change;
    if (before->cron->expression() != cron->expression() ||
        before->cron->timezone() != cron->timezone()) {
      change = fmt::format(": now {} (was '{}' in {})", schedule_text, before->cron->expression(),
                           before->cron->timezone());
    }
    Decide(out, {.kind = Kind::kReloaded,
                 .file = name,
                 .workflow = workflow->name,
                 .message = fmt::format("reloaded {} (version {}){}", name, version->substr(0, 12),
                                        change)});
  } else {
    Decide(out, {.kind = Kind::kLoaded,
                 .file = name,
                 .workflow = workflow->name,
                 .message = fmt::format("loaded {}: workflow {}, {} (version {})", name,
                                        workflow->name, schedule_text, version->substr(0, 12))});
  }
  files_[name] = std::move(entry);
}

Result<int> Daemon::CountActiveRuns(const std::string& workflow) {
  REEL_ASSIGN_OR_RETURN(
      Stmt st,
      store_.db().Prepare("SELECT count(*) FROM runs WHERE workflow = ? AND trigger = 'schedule'"
                          " AND status IN ('queued','running')"));
  st.Bind(1, workflow);
  REEL_RETURN_IF_ERROR((st.Step()).status());
  return static_cast<int>(st.Int(0));
}

Status Daemon::RecordSkipped(const WatchedFile& watched, sys_seconds start) {
  ScheduleState state{.workflow = watched.workflow->name,
                      .cron = watched.cron->expression(),
                      .timezone = watched.cron->timezone(),
                      .last_interval = start,
                      .last_ds = IntervalDs(*watched.cron, start)};
  return PutScheduleState(store_, state);
}

void Daemon::ScheduleWorkflow(const std::string& file, const WatchedFile& watched, sys_seconds now,
                              std::vector<DaemonDecision>& out) {
  const Workflow& wf = *watched.workflow;
  const CronSchedule& cron = *watched.cron;
  Result<std::optional<sys_seconds>> last = LastDecidedInterval(wf.name, cron);
  if (!last.ok()) return DecideError(out, file, wf, "read the schedule state", last.status());
  Result<DueIntervals> due = FindDueIntervals(cron, *wf.schedule, *last, now);
  if (!due.ok()) return DecideError(out, file, wf, "compute the due intervals", due.status());
  if (due->first_sight) {
    ScheduleState baseline{.workflow = wf.name,
                           .cron = cron.expression(),
                           .timezone = cron.timezone(),
                           .last_interval = due->decided_before,
                           .last_ds = IntervalDs(cron, due->decided_before)};
    if (Status s = PutScheduleState(store_, baseline); !s.ok()) {
      return DecideError(out, file, wf, "record the schedule state", s);
    }
  }
  if (due->dropped > 0) {
    if (Status s = SkipDropped(file, watched, *due, out); !s.ok()) {
      return DecideError(out, file, wf, "record skipped intervals", s);
    }
  }
  FireDue(file, watched, *due, out);
}

void Daemon::DecideError(std::vector<DaemonDecision>& out, const std::string& file,
                         const Workflow& wf, const std::string& what, const Status& s) {
  Decide(out, {.kind = Kind::kError,
               .file = file,
               .workflow = wf.name,
               .message = fmt::format("cannot {} for {}: {}; retrying at the next poll", what,
                                      wf.name, s.message())});
}

// The start of the latest interval decided (fired or skipped) for `workflow`; nullopt when it
// was never scheduled. When the cron changed since, the new one takes over where the last
// decided interval ends, so that no data is covered twice.
Result<std::optional<sys_seconds>> Daemon::LastDecidedInterval(const std::string& workflow,
                                                               const CronSchedule& cron) {
  REEL_ASSIGN_OR_RETURN(std::optional<ScheduleState> state, GetScheduleState(store_, workflow));
  if (!state || !state->last_interval) return std::optional<sys_seconds>();
  sys_seconds last = *state->last_interval;
  if (state->cron != cron.expression() || state->timezone != cron.timezone()) {
    Result<CronSchedule> previous = CronSchedule::Parse(state->cron, state->timezone);
    if (previous.ok()) {
      Result<sys_seconds> end = previous->NextAfter(last);
      if (end.ok()) last = *end - std::chrono::seconds(1);
    }
  }
  return std::optional<sys_seconds>(last);
}

// Records the missed intervals that will not run (catchup off, or past catchup_limit) as
// skipped, and says how to run them.
Status Daemon::SkipDropped(const std::string& file, const WatchedFile& watched,
                           const DueIntervals& due, std::vector<DaemonDecision>& out) {
  const Workflow& wf = *watched.workflow;
  const Schedule& schedule = *wf.schedule;
  REEL_RETURN_IF_ERROR(RecordSkipped(watched, due.last_dropped));
  std::string first = IntervalLogicalDate(*watched.cron, due.first_dropped);
  std::string last = IntervalLogicalDate(*watched.cron, due.last_dropped);
  std::string why =
      schedule.catchup
          ? fmt::format(
                "more than catchup_limit={} were missed; run them with `reel backfill "
                "{} --from {} --to {}`",
                schedule.catchup_limit, (options_.workflows_dir / file).string(), first, last)
          : std::string("catchup is off");
  Decide(out, {.kind = Kind::kSkipped,
               .file = file,
               .workflow = wf.name,
               .ds = IntervalDs(*watched.cron, due.first_dropped),
               .interval = due.first_dropped,
               .count = due.dropped,
               .message = fmt::format(
                   "skipped {} interval(s) of {} ({}): {}", due.dropped, wf.name,
                   IntervalRange(*watched.cron, due.first_dropped, due.last_dropped), why)});
  return Status::Ok();
}

// Fires the due intervals, oldest first, while max_active_runs allows; past it, the overlap
// policy skips them or leaves them due (waiting) for a later poll.
void Daemon::FireDue(const std::string& file, const WatchedFile& watched, const DueIntervals& due,
                     std::vector<DaemonDecision>& out) {
  const Workflow& wf = *watched.workflow;
  const Schedule& schedule = *wf.schedule;
  Result<int> active = CountActiveRuns(wf.name);
  if (!active.ok()) return DecideError(out, file, wf, "count the active runs", active.status());
  int slots = schedule.max_active_runs - *active;
  size_t fired = 0;
  sys_seconds first_fired{}, last_fired{};
  for (sys_seconds start : due.to_run) {
    std::string ds = IntervalDs(*watched.cron, start);
    std::string label = IntervalLabel(*watched.cron, start);
    if (slots > 0) {
      if (!Fire(file, watched, start, out)) break;
      --slots;
      if (fired++ == 0) first_fired = start;
      last_fired = start;
      continue;
    }
    if (schedule.overlap == OverlapPolicy::kSkip) {
      if (Status s = RecordSkipped(watched, start); !s.ok()) {
        return DecideError(out, file, wf, "record a skip", s);
      }
      Decide(out, {.kind = Kind::kSkipped,
                   .file = file,
                   .workflow = wf.name,
                   .ds = ds,
                   .interval = start,
                   .message = fmt::format("skipped {} {}: max_active_runs={} reached "
                                          "(overlap: skip)",
                                          wf.name, label, schedule.max_active_runs)});
      continue;
    }
    auto logged = waiting_logged_.find(wf.name);
    if (logged == waiting_logged_.end() || logged->second != start) {
      waiting_logged_[wf.name] = start;
      Decide(out, {.kind = Kind::kWaiting,
                   .file = file,
                   .workflow = wf.name,
                   .ds = ds,
                   .interval = start,
                   .message = fmt::format("waiting {} {}: max_active_runs={} reached "
                                          "(overlap: queue); it fires when a run finishes",
                                          wf.name, label, schedule.max_active_runs)});
    }
    break;
  }
  if (fired > 1) {
    Decide(out, {.kind = Kind::kCaughtUp,
                 .file = file,
                 .workflow = wf.name,
                 .ds = IntervalDs(*watched.cron, first_fired),
                 .interval = due.to_run.front(),
                 .count = fired,
                 .message = fmt::format("caught up {} intervals of {} ({})", fired, wf.name,
                                        IntervalRange(*watched.cron, first_fired, last_fired))});
  }
}

bool Daemon::Fire(const std::string& file, const WatchedFile& watched, sys_seconds start,
                  std::vector<DaemonDecision>& out) {
  const Workflow& wf = *watched.workflow;
  const CronSchedule& cron = *watched.cron;
  const std::string ds = IntervalDs(cron, start);
  const std::string label = IntervalLabel(cron, start);
  Result<RunRequest> request = PrepareRun(store_, watched.workflow, {},
                                          IntervalLogicalDate(cron, start), RunTrigger::kSchedule);
  if (!request.ok()) {
    // Params that do not resolve fail for every interval alike: record the interval as
    // skipped, so that the log says it once per interval rather than once per poll.
    Status recorded = RecordSkipped(watched, start);
    Decide(out, {.kind = Kind::kError,
                 .file = file,
                 .workflow = wf.name,
                 .ds = ds,
                 .interval = start,
                 .message = fmt::format(
                     "cannot fire {} {}: {}; {}", wf.name, label, request.status().message(),
                     recorded.ok() ? "interval skipped" : "retrying at the next poll")});
    return false;
  }
  bool already_fired = false;
  Status s = store_.Transaction([&]() -> Status {
    REEL_ASSIGN_OR_RETURN(std::optional<ScheduleState> current, GetScheduleState(store_, wf.name));
    if (current && current->last_interval && *current->last_interval >= start) {
      already_fired = true;  // another process got here first
      return Status::Ok();
    }
    RunRecord run;
    run.run_id = request->run_id;
    run.workflow = wf.name;
    run.version_hash = request->version_hash;
    run.params = request->params;
    run.logical_date = request->logical_date;
    run.status = RunStatus::kQueued;
    run.trigger = RunTrigger::kSchedule;
    REEL_RETURN_IF_ERROR(store_.CreateRun(run));
    return PutScheduleState(store_, ScheduleState{.workflow = wf.name,
                                                  .cron = cron.expression(),
                                                  .timezone = cron.timezone(),
                                                  .last_interval = start,
                                                  .last_ds = ds,
                                                  .last_run_id = run.run_id});
  });
  if (!s.ok()) {
    Decide(out, {.kind = Kind::kError,
                 .file = file,
                 .workflow = wf.name,
                 .ds = ds,
                 .interval = start,
                 .message = fmt::format("cannot fire {} {}: {}; retrying at the next poll", wf.name,
                                        label, s.message())});
    return false;
  }
  if (already_fired) return false;
  Result<sys_seconds> end = cron.NextAfter(start);
  Decide(out, {.kind = Kind::kFired,
               .file = file,
               .workflow = wf.name,
               .ds = ds,
               .interval = start,
               .run_id = request->run_id,
               .message = fmt::format("fired {} {} run={} (interval {} - {})", wf.name, label,
                                      request->run_id, FormatIsoUtc(start),
                                      end.ok() ? FormatIsoUtc(*end) : std::string("?"))});
  request->run_record_exists = true;
  StartRun(std::move(*request), label);
  return true;
}

}  // namespace reel
