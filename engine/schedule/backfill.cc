#include "engine/schedule/backfill.h"

#include <algorithm>
#include <set>
#include <thread>

#include "engine/exec/runner.h"

namespace reel {

Result<Reprocess> ParseReprocess(std::string_view text) {
  if (text == "none") return Reprocess::kNone;
  if (text == "failed") return Reprocess::kFailed;
  if (text == "all") return Reprocess::kAll;
  return Status::InvalidArgument("--reprocess expects none, failed or all, got '" +
                                 std::string(text) + "'");
}

const char* BackfillActionName(BackfillAction action) {
  switch (action) {
    case BackfillAction::kRun:
      return "run";
    case BackfillAction::kRerun:
      return "rerun";
    case BackfillAction::kSkipSucceeded:
      return "skip (succeeded)";
    case BackfillAction::kSkipFailed:
      return "skip (failed)";
    case BackfillAction::kSkipActive:
      return "skip (running)";
    case BackfillAction::kResume:
      return "resume";
  }
  return "?";
}

namespace {

struct LatestRun {
  std::string run_id;
  RunStatus status = RunStatus::kQueued;
  bool reaped = false;
  Json params;
};

// The latest run of `workflow` for each logical date (runs.logical_date) in [first, last], by
// creation order.
Result<std::map<std::string, LatestRun>> LatestRuns(StateStore& store, const std::string& workflow,
                                                    const std::string& first,
                                                    const std::string& last) {
  REEL_ASSIGN_OR_RETURN(
      Stmt st,
      store.db().Prepare(
          "SELECT logical_date, run_id, status,"
          " EXISTS(SELECT 1 FROM events e WHERE e.run_id = r.run_id AND e.kind = 'run.reaped'),"
          " params"
          " FROM runs r WHERE workflow = ? AND logical_date >= ? AND logical_date <= ?"
          " ORDER BY created_at, run_id"));
  st.BindAll(workflow, first, last);
  std::map<std::string, LatestRun> latest;
  for (;;) {
    REEL_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    latest[st.Text(0)] =
        LatestRun{.run_id = st.Text(1),
                  .status = ParseEnum<RunStatus>(st.Text(2)).value_or(RunStatus::kFailed),
                  .reaped = st.Int(3) != 0,
                  .params = Json::parse(st.Text(4), nullptr, /*allow_exceptions=*/false)};
  }
  return latest;
}

BackfillAction Decide(const LatestRun* run, Reprocess reprocess) {
  if (run == nullptr) return BackfillAction::kRun;
  if (!IsTerminal(run->status)) return BackfillAction::kSkipActive;
  // Interrupted: cancelled (a stopped backfill, `reel cancel`) or reaped after its process died.
  if (run->status == RunStatus::kCancelled || (run->status == RunStatus::kFailed && run->reaped)) {
    return BackfillAction::kResume;
  }
  if (run->status == RunStatus::kSucceeded) {
    return reprocess == Reprocess::kAll ? BackfillAction::kRerun : BackfillAction::kSkipSucceeded;
  }
  return reprocess == Reprocess::kNone ? BackfillAction::kSkipFailed : BackfillAction::kRerun;
}

}  // namespace

Result<std::vector<BackfillItem>> DecideBackfill(StateStore& store, const std::string& workflow,
                                                 const std::vector<LogicalDate>& dates,
                                                 Reprocess reprocess) {
  std::vector<BackfillItem> items;
  if (dates.empty()) return items;
  auto [lo, hi] = std::minmax_element(dates.begin(), dates.end(),
                                      [](const auto& a, const auto& b) { return a.key < b.key; });
  REEL_ASSIGN_OR_RETURN(auto latest, LatestRuns(store, workflow, lo->key, hi->key));
  std::set<std::string> seen;
  for (const LogicalDate& date : dates) {
    if (!seen.insert(date.key).second) continue;
    BackfillItem item;
    item.date = date;
    auto it = latest.find(date.key);
    const LatestRun* run = it == latest.end() ? nullptr : &it->second;
    item.action = Decide(run, reprocess);
    if (run) {
      item.previous_run_id = run->run_id;
      item.previous_status = std::string(ToString(run->status)) + (run->reaped ? " (reaped)" : "");
      item.previous_params = run->params.is_discarded() ? Json::object() : run->params;
    }
    items.push_back(std::move(item));
  }
  return items;
}

Result<Json> PlannedParams(const Workflow& workflow, const BackfillItem& item,
                           const std::map<std::string, std::string>& overrides) {
  switch (item.action) {
    case BackfillAction::kResume:
      return item.previous_params;
    case BackfillAction::kRerun:
      return ResolveParams(workflow, overrides, item.date.key, "-", &item.previous_params);
    default:
      return ResolveParams(workflow, overrides, item.date.key, "-");
  }
}

namespace {

// The run for one item, with its claim on the date.
Result<RunRequest> PrepareItem(StateStore& store, const OperatorCatalog& operators,
                               const WorkflowPtr& workflow, const BackfillItem& item,
                               const std::map<std::string, std::string>& overrides) {
  RunRequest request;
  if (item.action == BackfillAction::kResume) {
    REEL_ASSIGN_OR_RETURN(request, PrepareResume(store, operators, item.previous_run_id, ""));
    request.trigger = RunTrigger::kBackfill;
  } else {
    REEL_ASSIGN_OR_RETURN(
        request,
        PrepareRun(store, workflow, overrides, item.date.key, RunTrigger::kBackfill,
                   item.action == BackfillAction::kRerun ? &item.previous_params : nullptr));
  }
  auto resume_claim = std::move(request.claim);
  request.claim = [&workflow = workflow->name, &item,
                   resume_claim = std::move(resume_claim)](StateStore& s) -> Status {
    REEL_RETURN_IF_ERROR(s.ClaimLogicalDate(workflow, item.date.key, item.previous_run_id));
    return resume_claim ? resume_claim(s) : Status::Ok();
  };
  return request;
}

}  // namespace

Result<BackfillSummary> RunBackfill(StateStore& store, ArtifactStore& artifacts,
                                    const OperatorCatalog& operators, WorkflowPtr workflow,
                                    const std::vector<BackfillItem>& items,
                                    const BackfillOptions& options, const std::atomic<bool>* stop,
                                    BackfillObserver* observer) {
  BackfillSummary summary;
  summary.dates = items.size();
  std::vector<size_t> runnable;
  bool only_succeeded_skips = true;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!IsSkip(items[i].action)) {
      runnable.push_back(i);
    } else {
      ++summary.skipped;
      if (items[i].action != BackfillAction::kSkipSucceeded) only_succeeded_skips = false;
    }
  }
  // Params that cannot resolve fail every run alike: say so once, before anything runs.
  if (!runnable.empty()) {
    REEL_RETURN_IF_ERROR(
        (ResolveParams(*workflow, options.overrides, items[runnable[0]].date.key, "-")).status());
  }
  SchedulerOptions sched = options.scheduler;
  sched.handle_signals = false;  // the caller owns signals; `stop` cancels
  sched.observer = nullptr;

  std::mutex mu;  // guards summary and serializes observer calls
  std::atomic<size_t> next{0};
  size_t started = 0;  // guarded by mu
  auto stopped = [stop] { return stop != nullptr && stop->load(); };
  auto finish = [&](const BackfillItem& item, const std::string& run_id, RunStatus status,
                    const std::string& error) {
    std::lock_guard<std::mutex> lock(mu);
    if (status == RunStatus::kSucceeded) {
      ++summary.succeeded;
    } else if (status == RunStatus::kCancelled) {
      ++summary.cancelled;
    } else {
      ++summary.failed;
    }
    if (observer) observer->OnDateFinished(item, run_id, status, error);
  };
  auto worker = [&] {
    Scheduler scheduler(store, artifacts, operators, sched);
    while (!stopped()) {
      size_t k = next.fetch_add(1);
      if (k >= runnable.size()) return;
      const BackfillItem& item = items[runnable[k]];
      {
        std::lock_guard<std::mutex> lock(mu);
        ++started;
      }
      auto request = PrepareItem(store, operators, workflow, item, options.overrides);
      if (!request.ok()) {
        finish(item, "", RunStatus::kFailed, request.status().message());
        continue;
      }
      request->tags = options.tags;
      request->note = options.note;
      // Whether this process got the date: the claim runs where the run is recorded.
      bool claimed = false;
      Status claim_error;
      request->claim = [&, claim = std::move(request->claim),
                        run_id = request->run_id](StateStore& s) -> Status {
        claim_error = claim(s);
        claimed = claim_error.ok();
        if (claimed) {
          // Threads holding `mu` never wait for the store, so taking it here cannot deadlock.
          std::lock_guard<std::mutex> lock(mu);
          if (observer) observer->OnDateStarted(item, run_id);
        }
        return claim_error;
      };
      auto outcome = scheduler.Execute(*request, stop);
      if (!claimed && !claim_error.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        ++summary.claimed_elsewhere;
        if (observer) observer->OnDateSkipped(item, claim_error.message());
        continue;
      }
      if (!outcome.ok()) {
        // The run may have been recorded before the error: do not leave it looking active.
        (void)store.UpdateRunStatus(request->run_id, RunStatus::kFailed,
                                    outcome.status().message());
        finish(item, request->run_id, RunStatus::kFailed, outcome.status().message());
        continue;
      }
      finish(item, request->run_id, outcome->status, outcome->error);
    }
  };

  size_t threads =
      std::min<size_t>(static_cast<size_t>(std::max(1, options.parallel)), runnable.size());
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  if (threads > 0) worker();
  for (auto& t : pool) t.join();

  summary.not_started = runnable.size() - started;
  summary.all_succeeded = only_succeeded_skips && summary.failed == 0 && summary.cancelled == 0 &&
                          summary.not_started == 0 && summary.claimed_elsewhere == 0;
  return summary;
}

}  // namespace reel
