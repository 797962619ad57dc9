// Backfill: which dates run, skip or rerun, resuming after an interruption, order, dry runs.
#include "engine/schedule/backfill.h"

#include <atomic>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "engine/exec/runner.h"
#include "engine/workflow/loader.h"
#include "home/home.h"
#include "operators/builtin_operators.h"
#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::TempDir;

namespace {

class FnOperator : public Operator {
 public:
  explicit FnOperator(std::function<Status(Context&)> body) : body_(std::move(body)) {}
  Status Execute(Context& ctx) override { return body_(ctx); }

 private:
  std::function<Status(Context&)> body_;
};

// What the `dated` operator does, per ds; shared with the test body.
struct Script {
  std::mutex mu;
  std::vector<std::string> executed;  // ds, in start order
  std::set<std::string> fail;         // these dates fail
  std::string stop_at;                // this date raises `stop` and waits to be cancelled
  std::atomic<bool>* stop = nullptr;
};

constexpr const char* kWorkflow = R"(
name: daily_job
schedule: {cron: "0 3 * * *", timezone: UTC}
params:
  tag: {type: string, default: plain}
steps:
  work:
    operator: dated
    with: {ds: "{{ ds }}"}
  after:
    operator: noop
    needs: [work]
)";

// Hourly in New York; `dated` records each run's data interval.
constexpr const char* kHourly = R"(
name: hourly_job
schedule: {cron: "0 * * * *", timezone: America/New_York}
steps:
  work:
    operator: dated
    with: {ds: "{{ logical_date }}/{{ data_interval_start }}/{{ data_interval_end }}"}
)";

struct Harness {
  TempDir dir;
  Script script;
  OperatorRegistry registry;
  std::unique_ptr<StateStore> store;
  std::unique_ptr<ArtifactStore> artifacts;
  WorkflowPtr workflow;
  std::atomic<bool> stop{false};

  explicit Harness(const char* yaml = kWorkflow) {
    RegisterBuiltinOperators(registry);
    OperatorDef def;
    def.info.name = "dated";
    def.info.description = "test operator driven by its ds";
    def.info.allow_unknown_keys = true;
    Script* s = &script;
    def.create = [s] {
      return std::make_unique<FnOperator>([s](Context& ctx) -> Status {
        std::string ds = ctx.config().value("ds", "");
        bool fail, wait;
        {
          std::lock_guard<std::mutex> lock(s->mu);
          s->executed.push_back(ds);
          fail = s->fail.count(ds) > 0;
          wait = ds == s->stop_at;
        }
        if (wait) {
          s->stop->store(true);
          ctx.cancellation().WaitFor(std::chrono::seconds(20));
          return Status::Cancelled("cancelled");
        }
        if (fail) return Status::Failed("planned failure on " + ds);
        return Status::Ok();
      });
    };
    REQUIRE(registry.Register(std::move(def)).ok());
    script.stop = &stop;
    store = OpenStateStore(dir.path()).value();
    artifacts = ArtifactStore::Open(dir.path()).value();
    Diagnostics diags;
    workflow = LoadWorkflowText("job.yaml", yaml, registry.Catalog(), diags);
    INFO(diags.Format());
    REQUIRE(workflow != nullptr);
  }

  std::vector<BackfillItem> Decide(const std::string& from, const std::string& to,
                                   Reprocess reprocess = Reprocess::kNone, bool reverse = false) {
    auto cron = CronSchedule::Parse(workflow->schedule->cron, workflow->schedule->timezone);
    REQUIRE(cron.ok());
    BackfillPlanOptions plan;
    plan.reverse = reverse;
    auto dates = PlanBackfill(*cron, from, to, plan);
    REQUIRE(dates.ok());
    auto items = DecideBackfill(*store, workflow->name, *dates, reprocess);
    REQUIRE(items.ok());
    return *items;
  }

  BackfillSummary Run(const std::vector<BackfillItem>& items, int parallel = 1) {
    BackfillOptions options;
    options.parallel = parallel;
    options.scheduler.max_parallel = 2;
    options.scheduler.cpus = 8;
    options.scheduler.kill_grace = std::chrono::milliseconds(500);
    options.scheduler.heartbeat = std::chrono::milliseconds(100);
    auto summary =
        RunBackfill(*store, *artifacts, registry.Catalog(), workflow, items, options, &stop);
    REQUIRE(summary.ok());
    return *summary;
  }

  std::vector<std::string> Executed() {
    std::lock_guard<std::mutex> lock(script.mu);
    auto out = script.executed;
    script.executed.clear();
    return out;
  }

  size_t RunsOf(const std::string& ds) {
    RunFilter filter;
    filter.workflow = workflow->name;
    filter.logical_date = ds;
    filter.limit = 0;
    return store->ListRuns(filter)->size();
  }
};

std::vector<std::string> Ds(std::initializer_list<const char*> list) {
  return {list.begin(), list.end()};
}

}  // namespace

TEST_CASE("backfill runs one run per date, then skips the dates that succeeded") {
  for (int parallel : {1, 2, 4}) {
    CAPTURE(parallel);
    Harness h;
    auto items = h.Decide("2026-01-01", "2026-01-05");
    REQUIRE(items.size() == 5);
    for (const auto& item : items) CHECK(item.action == BackfillAction::kRun);
    auto summary = h.Run(items, parallel);
    CHECK(summary.succeeded == 5);
    CHECK(summary.all_succeeded);
    auto executed = h.Executed();
    std::sort(executed.begin(), executed.end());
    CHECK(executed == Ds({"2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"}));
    RunFilter filter;
    filter.trigger = RunTrigger::kBackfill;
    filter.limit = 0;
    CHECK(h.store->ListRuns(filter)->size() == 5);

    // Again, over a wider range: only the new dates run.
    auto again = h.Decide("2026-01-01", "2026-01-07");
    size_t skipped = 0;
    for (const auto& item : again) skipped += item.action == BackfillAction::kSkipSucceeded;
    CHECK(skipped == 5);
    summary = h.Run(again, parallel);
    CHECK(summary.succeeded == 2);
    CHECK(summary.skipped == 5);
    CHECK(summary.all_succeeded);
    executed = h.Executed();
    std::sort(executed.begin(), executed.end());
    CHECK(executed == Ds({"2026-01-06", "2026-01-07"}));
    CHECK(h.RunsOf("2026-01-01") == 1);
  }
}

TEST_CASE("backfill: failed dates are skipped unless --reprocess failed or all") {
  Harness h;
  h.script.fail = {"2026-02-02", "2026-02-03"};
  auto summary = h.Run(h.Decide("2026-02-01", "2026-02-04"));
  CHECK(summary.succeeded == 2);
  CHECK(summary.failed == 2);
  CHECK_FALSE(summary.all_succeeded);
  h.Executed();

  // Plain restart: failed dates are left alone, and the backfill does not count as done.
  auto items = h.Decide("2026-02-01", "2026-02-04");
  CHECK(items[1].action == BackfillAction::kSkipFailed);
  CHECK(items[1].previous_status == "failed");
  summary = h.Run(items);
  CHECK(h.Executed().empty());
  CHECK_FALSE(summary.all_succeeded);

  // --reprocess failed: the failed ones run again (and now succeed).
  h.script.fail.clear();
  items = h.Decide("2026-02-01", "2026-02-04", Reprocess::kFailed);
  CHECK(items[0].action == BackfillAction::kSkipSucceeded);
  CHECK(items[1].action == BackfillAction::kRerun);
  CHECK(items[2].action == BackfillAction::kRerun);
  summary = h.Run(items);
  CHECK(h.Executed() == Ds({"2026-02-02", "2026-02-03"}));
  CHECK(summary.all_succeeded);
  CHECK(h.RunsOf("2026-02-02") == 2);

  // --reprocess all: everything again.
  items = h.Decide("2026-02-01", "2026-02-04", Reprocess::kAll);
  for (const auto& item : items) CHECK(item.action == BackfillAction::kRerun);
  h.Run(items);
  CHECK(h.Executed().size() == 4);
}

TEST_CASE("backfill resumes after an interruption: only the missing dates run") {
  Harness h;
  h.script.stop_at = "2026-03-03";
  auto summary = h.Run(h.Decide("2026-03-01", "2026-03-05"));
  CHECK(summary.succeeded == 2);
  CHECK(summary.cancelled == 1);
  CHECK(summary.not_started == 2);
  CHECK_FALSE(summary.all_succeeded);
  CHECK(h.Executed() == Ds({"2026-03-01", "2026-03-02", "2026-03-03"}));
  RunFilter filter;
  filter.logical_date = "2026-03-03";
  CHECK(ToString(h.store->ListRuns(filter)->at(0).status) == "cancelled");

  // Restarted without --reprocess: the cancelled date's run is resumed.
  h.stop = false;
  h.script.stop_at.clear();
  auto items = h.Decide("2026-03-01", "2026-03-05");
  CHECK(items[2].action == BackfillAction::kResume);
  CHECK(items[2].previous_status == "cancelled");
  std::string interrupted = items[2].previous_run_id;
  summary = h.Run(items);
  CHECK(summary.all_succeeded);
  CHECK(summary.skipped == 2);
  CHECK(h.Executed() == Ds({"2026-03-03", "2026-03-04", "2026-03-05"}));
  RunFilter resumed;
  resumed.logical_date = "2026-03-03";
  auto runs = h.store->ListRuns(resumed);
  REQUIRE(runs->size() == 2);
  CHECK(runs->front().origin_run_id == interrupted);
  CHECK(runs->front().trigger == RunTrigger::kBackfill);
}

TEST_CASE("backfill: a restart reuses the steps that succeeded in the interrupted run") {
  Harness h;
  // A run whose process died after `work` succeeded, before `after` ran.
  RunRecord orphan;
  orphan.run_id = NewRunId();
  orphan.workflow = "daily_job";
  orphan.version_hash = *h.store->PutWorkflowVersion("daily_job", h.workflow->source);
  orphan.logical_date = "2026-04-02";
  orphan.params = {{"tag", "from-the-first-run"}};
  orphan.status = RunStatus::kRunning;
  orphan.trigger = RunTrigger::kBackfill;
  orphan.pid = 999999999;  // no such process
  REQUIRE(h.store->CreateRun(orphan).ok());
  TaskRecord work;
  work.run_id = orphan.run_id;
  work.step = "work";
  work.status = TaskStatus::kSucceeded;
  REQUIRE(h.store->CreateTask(work).ok());
  REQUIRE(h.store->ReapOrphanedRuns(std::chrono::minutes(2))->size() == 1);

  auto items = h.Decide("2026-04-02", "2026-04-02");
  REQUIRE(items.size() == 1);
  CHECK(items[0].action == BackfillAction::kResume);
  CHECK(PlannedParams(*h.workflow, items[0], {})->at("tag") == "from-the-first-run");
  auto summary = h.Run(items);
  CHECK(summary.all_succeeded);
  CHECK(h.Executed().empty());  // `work` was reused, not run again
  RunFilter filter;
  filter.logical_date = "2026-04-02";
  auto runs = h.store->ListRuns(filter);
  REQUIRE(runs->size() == 2);
  CHECK(runs->front().status == RunStatus::kSucceeded);
  CHECK(runs->front().params["tag"] == "from-the-first-run");
  auto tasks = h.store->GetTasks(runs->front().run_id);
  REQUIRE(tasks->size() == 2);
  CHECK(tasks->front().reused_from.has_value());
}

TEST_CASE("backfill --reprocess failed keeps the failed run's params") {
  Harness h;
  h.script.fail = {"2026-05-02"};
  BackfillOptions options;
  options.overrides["tag"] = "special";
  auto first = RunBackfill(*h.store, *h.artifacts, h.registry.Catalog(), h.workflow,
                           h.Decide("2026-05-02", "2026-05-02"), options);
  REQUIRE(first.ok());
  CHECK(first->failed == 1);
  h.script.fail.clear();
  auto items = h.Decide("2026-05-02", "2026-05-02", Reprocess::kFailed);
  REQUIRE(items[0].action == BackfillAction::kRerun);
  CHECK(PlannedParams(*h.workflow, items[0], {})->at("tag") == "special");
  CHECK(PlannedParams(*h.workflow, items[0], {{"tag", "new"}})->at("tag") == "new");
  CHECK(h.Run(items).all_succeeded);
  RunFilter filter;
  filter.logical_date = "2026-05-02";
  auto runs = h.store->ListRuns(filter);
  REQUIRE(runs->size() == 2);
  CHECK(runs->front().params["tag"] == "special");
  // A new date gets the default.
  auto fresh = h.Decide("2026-05-03", "2026-05-03");
  CHECK(PlannedParams(*h.workflow, fresh[0], {})->at("tag") == "plain");
}

TEST_CASE("backfill: two processes backfilling one range run each date once") {
  Harness h;
  auto other_store = OpenStateStore(h.dir.path()).value();  // another process's connection
  // Both decide before either runs: each sees every date as to do.
  auto mine = h.Decide("2026-08-01", "2026-08-12");
  auto cron = CronSchedule::Parse("0 3 * * *", "UTC");
  auto theirs = DecideBackfill(*other_store, "daily_job",
                               *PlanBackfill(*cron, "2026-08-01", "2026-08-12"), Reprocess::kNone);
  REQUIRE(theirs.ok());
  BackfillOptions options;
  options.parallel = 2;
  options.scheduler.heartbeat = std::chrono::milliseconds(100);
  std::optional<Result<BackfillSummary>> b;
  std::thread other([&] {
    b = RunBackfill(*other_store, *h.artifacts, h.registry.Catalog(), h.workflow, *theirs, options);
  });
  auto a = RunBackfill(*h.store, *h.artifacts, h.registry.Catalog(), h.workflow, mine, options);
  other.join();
  REQUIRE(b.has_value());
  REQUIRE((a.ok() && b->ok()));
  CHECK(a->succeeded + (*b)->succeeded == 12);
  CHECK(a->claimed_elsewhere + (*b)->claimed_elsewhere == 12);
  auto executed = h.Executed();
  CHECK(executed.size() == 12);
  CHECK(std::set<std::string>(executed.begin(), executed.end()).size() == 12);
  for (int day = 1; day <= 12; ++day) CHECK(h.RunsOf(fmt::format("2026-08-{:02}", day)) == 1);
}

TEST_CASE("backfill: a run reaped after its process died counts as not done") {
  Harness h;
  RunRecord orphan;
  orphan.run_id = NewRunId();
  orphan.workflow = "daily_job";
  orphan.logical_date = "2026-04-02";
  orphan.status = RunStatus::kRunning;
  orphan.trigger = RunTrigger::kBackfill;
  orphan.pid = 999999999;  // no such process
  REQUIRE(h.store->CreateRun(orphan).ok());
  auto reaped = h.store->ReapOrphanedRuns(std::chrono::minutes(2));
  REQUIRE(reaped.ok());
  REQUIRE(reaped->size() == 1);
  auto items = h.Decide("2026-04-01", "2026-04-02");
  CHECK(items[1].action == BackfillAction::kResume);
  CHECK(items[1].previous_status == "failed (reaped)");
}

TEST_CASE("backfill --reverse runs newest first") {
  Harness h;
  auto items = h.Decide("2026-05-01", "2026-05-04", Reprocess::kNone, /*reverse=*/true);
  CHECK(items.front().date.ds == "2026-05-04");
  h.Run(items);
  CHECK(h.Executed() == Ds({"2026-05-04", "2026-05-03", "2026-05-02", "2026-05-01"}));
}

TEST_CASE("backfill: deciding writes nothing") {
  Harness h;
  auto items = h.Decide("2026-06-01", "2026-06-30");
  CHECK(items.size() == 30);
  RunFilter filter;
  filter.limit = 0;
  CHECK(h.store->ListRuns(filter)->empty());
}

TEST_CASE("backfill: bad params fail before any run") {
  Harness h;
  BackfillOptions options;
  options.overrides["nope"] = "1";
  auto summary = RunBackfill(*h.store, *h.artifacts, h.registry.Catalog(), h.workflow,
                             h.Decide("2026-07-01", "2026-07-02"), options);
  CHECK(summary.status().code() == Status::Code::kInvalidArgument);
  CHECK(h.Executed().empty());
}

TEST_CASE("backfill of an hourly schedule runs each interval with its own logical date") {
  Harness h(kHourly);
  // 22:00 to 01:00 New York time (EDT, -04:00), across midnight: four intervals.
  auto items = h.Decide("2026-07-01T22:00", "2026-07-02T01:00");
  REQUIRE(items.size() == 4);
  CHECK(items[0].date.key == "2026-07-02T02:00:00Z");
  CHECK(items[0].date.ds == "2026-07-01");
  CHECK(items[3].date.key == "2026-07-02T05:00:00Z");
  CHECK(items[3].date.ds == "2026-07-02");
  BackfillSummary summary = h.Run(items);
  CHECK(summary.succeeded == 4);
  CHECK(summary.all_succeeded);
  CHECK(h.Executed() ==
        Ds({"2026-07-01T22:00:00-04:00/2026-07-01T22:00:00-04:00/2026-07-01T23:00:00-04:00",
            "2026-07-01T23:00:00-04:00/2026-07-01T23:00:00-04:00/2026-07-02T00:00:00-04:00",
            "2026-07-02T00:00:00-04:00/2026-07-02T00:00:00-04:00/2026-07-02T01:00:00-04:00",
            "2026-07-02T01:00:00-04:00/2026-07-02T01:00:00-04:00/2026-07-02T02:00:00-04:00"}));
  for (const auto& item : items) CHECK(h.RunsOf(item.date.key) == 1);

  // The whole local day of 2026-07-02: 24 intervals; its first two ran above.
  auto day = h.Decide("2026-07-02", "2026-07-02");
  REQUIRE(day.size() == 24);
  size_t skipped = 0;
  for (const auto& item : day) skipped += item.action == BackfillAction::kSkipSucceeded ? 1 : 0;
  CHECK(skipped == 2);
  CHECK(day[0].date.key == "2026-07-02T04:00:00Z");
  CHECK(day[0].action == BackfillAction::kSkipSucceeded);
  CHECK(day[1].action == BackfillAction::kSkipSucceeded);
  CHECK(day[2].action == BackfillAction::kRun);
  CHECK(day[2].previous_run_id.empty());
}

TEST_CASE("ParseReprocess") {
  CHECK(*ParseReprocess("failed") == Reprocess::kFailed);
  CHECK(ParseReprocess("some").status().message().find("none, failed or all") != std::string::npos);
}
