// The cron daemon against a fake "now": logical dates, catchup, restarts, max_active_runs,
// file reloads, invalid files, the serve loop and the one-daemon-per-home lock.
#include "engine/schedule/daemon.h"

#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <set>

#include <doctest/doctest.h>

#include "engine/schedule/daemon_lock.h"
#include "engine/schedule/schedule_store.h"
#include "engine/workflow/loader.h"
#include "home/home.h"
#include "operators/builtin_operators.h"
#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::TempDir;
using reel::testing::WriteFile;
using Kind = DaemonDecision::Kind;
using std::chrono::sys_seconds;

namespace {

sys_seconds At(const char* iso) { return *ParseIsoInstant(iso); }

class FnOperator : public Operator {
 public:
  explicit FnOperator(std::function<Status(Context&)> body) : body_(std::move(body)) {}
  Status Execute(Context& ctx) override { return body_(ctx); }

 private:
  std::function<Status(Context&)> body_;
};

// `hold` blocks until the test releases it (or the run is cancelled).
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  void Release() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
};

std::string WorkflowYaml(const std::string& name, const std::string& schedule,
                         const std::string& op = "noop") {
  return "name: " + name + "\nschedule: " + schedule + "\nsteps:\n  only: {operator: " + op + "}\n";
}

struct Harness {
  TempDir dir;
  Gate gate;
  OperatorRegistry registry;
  std::unique_ptr<StateStore> store;
  std::unique_ptr<ArtifactStore> artifacts;
  std::unique_ptr<Daemon> daemon;
  std::mutex log_mu;
  std::vector<std::string> log;

  Harness() {
    RegisterBuiltinOperators(registry);
    OperatorDef def;
    def.info.name = "hold";
    def.info.description = "blocks until the test releases it";
    Gate* g = &gate;
    def.create = [g] {
      return std::make_unique<FnOperator>([g](Context& ctx) -> Status {
        std::unique_lock<std::mutex> lock(g->mu);
        while (!g->open && !ctx.cancellation().cancelled()) {
          g->cv.wait_for(lock, std::chrono::milliseconds(20));
        }
        return ctx.cancellation().cancelled() ? Status::Cancelled("cancelled") : Status::Ok();
      });
    };
    REQUIRE(registry.Register(std::move(def)).ok());
    std::filesystem::create_directories(dir / "workflows");
    Open();
  }
  ~Harness() {
    gate.Release();
    daemon.reset();
  }

  void Open() {
    daemon.reset();
    store.reset();
    store = OpenStateStore(dir / "home").value();
    artifacts = ArtifactStore::Open(dir / "home").value();
    DaemonOptions options;
    options.workflows_dir = dir / "workflows";
    options.scheduler.max_parallel = 2;
    options.scheduler.cpus = 8;
    options.scheduler.kill_grace = std::chrono::milliseconds(500);
    daemon = std::make_unique<Daemon>(*store, *artifacts, registry.Catalog(), options,
                                      [this](const std::string& line) {
                                        std::lock_guard<std::mutex> lock(log_mu);
                                        log.push_back(line);
                                      });
  }

  void Write(const std::string& file, const std::string& yaml) {
    WriteFile(dir / "workflows" / file, yaml);
  }

  std::vector<DaemonDecision> Tick(const char* now) {
    auto decisions = daemon->Tick(At(now));
    return decisions;
  }
  void Wait() { REQUIRE(daemon->WaitForRuns(std::chrono::seconds(20))); }

  bool Logged(const std::string& needle) {
    std::lock_guard<std::mutex> lock(log_mu);
    for (const auto& line : log) {
      if (line.find(needle) != std::string::npos) return true;
    }
    return false;
  }
};

std::vector<std::string> FiredDs(const std::vector<DaemonDecision>& decisions) {
  std::vector<std::string> out;
  for (const auto& d : decisions) {
    if (d.kind == Kind::kFired) out.push_back(d.ds);
  }
  return out;
}

const DaemonDecision* Find(const std::vector<DaemonDecision>& decisions, Kind kind) {
  for (const auto& d : decisions) {
    if (d.kind == kind) return &d;
  }
  return nullptr;
}

std::vector<std::string> Ds(std::initializer_list<const char*> list) {
  return {list.begin(), list.end()};
}

}  // namespace

TEST_CASE("daemon fires each interval when it ends, with the interval start as logical date") {
  Harness h;
  h.Write("daily.yaml", WorkflowYaml("daily", R"({cron: "0 3 * * *", timezone: UTC})"));
  auto first = h.Tick("2026-11-29T03:00:00Z");
  REQUIRE(Find(first, Kind::kLoaded) != nullptr);
  CHECK(FiredDs(first) == Ds({"2026-11-28"}));
  const DaemonDecision* fired = Find(first, Kind::kFired);
  CHECK(fired->interval == At("2026-11-28T03:00:00Z"));
  CHECK(h.Logged("fired daily ds=2026-11-28 run=" + fired->run_id));
  h.Wait();
  auto run = h.store->GetRun(fired->run_id);
  REQUIRE(run.ok());
  CHECK(ToString(run->status) == "succeeded");
  CHECK(ToString(run->trigger) == "schedule");
  CHECK(run->logical_date == "2026-11-28");

  CHECK(FiredDs(h.Tick("2026-11-29T03:00:00Z")).empty());  // same instant: nothing new
  CHECK(FiredDs(h.Tick("2026-11-30T02:59:59Z")).empty());  // the next interval has not ended
  CHECK(FiredDs(h.Tick("2026-11-30T03:00:00Z")) == Ds({"2026-11-29"}));
  h.Wait();
  auto state = GetScheduleState(*h.store, "daily");
  REQUIRE(state.ok());
  REQUIRE(state->has_value());
  CHECK((*state)->last_interval == At("2026-11-29T03:00:00Z"));
  CHECK((*state)->last_ds == "2026-11-29");
}

TEST_CASE("daemon: ds is the interval start's date in the schedule's zone") {
  Harness h;
  h.Write("la.yaml", WorkflowYaml("la", R"({cron: "0 22 * * *", timezone: America/Los_Angeles})"));
  // The interval starting 2026-07-04 22:00 PDT (05:00Z on the 5th) ends a day later.
  auto decisions = h.Tick("2026-07-06T05:00:00Z");
  CHECK(FiredDs(decisions) == Ds({"2026-07-04"}));
  CHECK(Find(decisions, Kind::kFired)->interval == At("2026-07-05T05:00:00Z"));
}

TEST_CASE("daemon catchup creates exactly the missed intervals, bounded by catchup_limit") {
  Harness h;
  h.Write("c.yaml", WorkflowYaml("c", R"({cron: "0 3 * * *", catchup: true, catchup_limit: 3,
                                      max_active_runs: 20})"));
  CHECK(FiredDs(h.Tick("2026-01-02T03:00:00Z")) == Ds({"2026-01-01"}));
  h.Wait();
  // Down for two days: both missed intervals, oldest first.
  auto two = h.Tick("2026-01-04T03:30:00Z");
  CHECK(FiredDs(two) == Ds({"2026-01-02", "2026-01-03"}));
  REQUIRE(Find(two, Kind::kCaughtUp) != nullptr);
  CHECK(h.Logged("caught up 2 intervals of c (ds 2026-01-02..2026-01-03)"));
  h.Wait();
  // Down for ten days: the newest three run, the seven before are recorded as skipped.
  auto ten = h.Tick("2026-01-14T03:00:00Z");
  // (The latest interval that has ended at 01-14 03:00 is the one that started on 01-13.)
  CHECK(FiredDs(ten) == Ds({"2026-01-11", "2026-01-12", "2026-01-13"}));
  const DaemonDecision* skipped = Find(ten, Kind::kSkipped);
  REQUIRE(skipped != nullptr);
  CHECK(skipped->count == 7);
  CHECK(skipped->message.find("ds 2026-01-04..2026-01-10") != std::string::npos);
  CHECK(skipped->message.find("--from 2026-01-04 --to 2026-01-10") != std::string::npos);
  CHECK(skipped->message.find("reel backfill") != std::string::npos);
  h.Wait();
  RunFilter filter;
  filter.workflow = "c";
  filter.limit = 0;
  CHECK(h.store->ListRuns(filter)->size() == 6);
}

TEST_CASE("daemon without catchup runs only the latest missed interval") {
  Harness h;
  h.Write("n.yaml", WorkflowYaml("n", R"({cron: "0 * * * *", catchup: false})"));
  CHECK(FiredDs(h.Tick("2026-03-01T10:00:00Z")).size() == 1);
  h.Wait();
  auto later = h.Tick("2026-03-01T15:20:00Z");
  auto fired = Find(later, Kind::kFired);
  REQUIRE(fired != nullptr);
  CHECK(fired->interval == At("2026-03-01T14:00:00Z"));
  CHECK(FiredDs(later).size() == 1);
  REQUIRE(Find(later, Kind::kSkipped) != nullptr);
  CHECK(Find(later, Kind::kSkipped)->count == 4);
  CHECK(h.Logged("catchup is off"));
}

TEST_CASE("daemon: a restart neither fires twice nor misses an interval") {
  Harness h;
  h.Write("r.yaml", WorkflowYaml("r", R"({cron: "0 3 * * *", catchup: true, max_active_runs: 5})"));
  CHECK(FiredDs(h.Tick("2026-05-02T03:00:00Z")) == Ds({"2026-05-01"}));
  h.Wait();
  h.Open();  // a new daemon, a new connection, the same home
  CHECK(FiredDs(h.Tick("2026-05-02T03:00:00Z")).empty());
  CHECK(FiredDs(h.Tick("2026-05-02T09:00:00Z")).empty());
  h.Open();
  CHECK(FiredDs(h.Tick("2026-05-04T03:00:00Z")) == Ds({"2026-05-02", "2026-05-03"}));
  h.Wait();
  RunFilter filter;
  filter.workflow = "r";
  filter.limit = 0;
  CHECK(h.store->ListRuns(filter)->size() == 3);
}

TEST_CASE("daemon max_active_runs: overlap queue waits, overlap skip records a skip") {
  SUBCASE("queue") {
    Harness h;
    h.Write("q.yaml", WorkflowYaml("q", R"({cron: "0 3 * * *", catchup: true, max_active_runs: 1,
                                        overlap: queue})",
                                   "hold"));
    CHECK(FiredDs(h.Tick("2026-06-02T03:00:00Z")) == Ds({"2026-06-01"}));
    auto waiting = h.Tick("2026-06-03T03:00:00Z");
    CHECK(FiredDs(waiting).empty());
    REQUIRE(Find(waiting, Kind::kWaiting) != nullptr);
    CHECK(h.Logged("waiting q ds=2026-06-02: max_active_runs=1 reached (overlap: queue)"));
    CHECK(Find(h.Tick("2026-06-03T03:00:10Z"), Kind::kWaiting) == nullptr);  // logged once
    h.gate.Release();
    h.Wait();
    CHECK(FiredDs(h.Tick("2026-06-03T03:00:20Z")) == Ds({"2026-06-02"}));
  }
  SUBCASE("skip") {
    Harness h;
    h.Write("s.yaml", WorkflowYaml("s", R"({cron: "0 3 * * *", catchup: true, max_active_runs: 1,
                                        overlap: skip})",
                                   "hold"));
    CHECK(FiredDs(h.Tick("2026-06-02T03:00:00Z")) == Ds({"2026-06-01"}));
    auto skipped = h.Tick("2026-06-03T03:00:00Z");
    CHECK(FiredDs(skipped).empty());
    REQUIRE(Find(skipped, Kind::kSkipped) != nullptr);
    CHECK(h.Logged("skipped s ds=2026-06-02: max_active_runs=1 reached (overlap: skip)"));
    h.gate.Release();
    h.Wait();
    CHECK(FiredDs(h.Tick("2026-06-03T03:00:20Z")).empty());  // the skip is final
    CHECK(FiredDs(h.Tick("2026-06-04T03:00:00Z")) == Ds({"2026-06-03"}));
  }
}

TEST_CASE("daemon reloads changed files, records versions, and stops firing removed ones") {
  Harness h;
  h.Write("w.yaml", WorkflowYaml("w", R"({cron: "0 3 * * *"})"));
  auto first = h.Tick("2026-08-02T03:00:00Z");
  CHECK(FiredDs(first) == Ds({"2026-08-01"}));
  h.Wait();
  std::string first_version = h.store->GetRun(Find(first, Kind::kFired)->run_id)->version_hash;

  h.Write("w.yaml", WorkflowYaml("w", R"({cron: "0 5 * * *"})"));
  auto reload = h.Tick("2026-08-02T04:00:00Z");
  const DaemonDecision* reloaded = Find(reload, Kind::kReloaded);
  REQUIRE(reloaded != nullptr);
  CHECK(reloaded->message.find("reloaded w.yaml (version ") == 0);
  CHECK(reloaded->message.find("cron '0 5 * * *'") != std::string::npos);
  CHECK(FiredDs(reload).empty());
  // The new cron takes over where the last fired interval (08-01 03:00 to 08-02 03:00) ended:
  // its interval from 08-01 05:00 overlaps that one and is not fired; the one from 08-02
  // 05:00 ends at 05:00 on the 3rd.
  CHECK(FiredDs(h.Tick("2026-08-03T04:59:00Z")).empty());
  auto next = h.Tick("2026-08-03T05:00:00Z");
  REQUIRE(Find(next, Kind::kFired) != nullptr);
  CHECK(Find(next, Kind::kFired)->interval == At("2026-08-02T05:00:00Z"));
  h.Wait();
  std::string new_version = h.store->GetRun(Find(next, Kind::kFired)->run_id)->version_hash;
  CHECK(new_version != first_version);
  CHECK(h.store->GetWorkflowYaml("w", new_version)->find("0 5 * * *") != std::string::npos);

  std::filesystem::remove(h.dir / "workflows" / "w.yaml");
  auto removed = h.Tick("2026-08-03T06:00:00Z");
  REQUIRE(Find(removed, Kind::kRemoved) != nullptr);
  CHECK(h.Logged("removed w.yaml"));
  CHECK(FiredDs(h.Tick("2026-08-10T06:00:00Z")).empty());
}

TEST_CASE("daemon logs an invalid file with its diagnostics and schedules the rest") {
  Harness h;
  h.Write("bad.yaml",
          "name: bad\nschedule: {cron: \"0 3 * * *\"}\nsteps:\n  a: {operator: nope}\n");
  h.Write("good.yaml", WorkflowYaml("good", R"({cron: "0 3 * * *"})"));
  h.Write("plain.yaml", "name: plain\nsteps:\n  a: {operator: noop}\n");
  auto decisions = h.Tick("2026-09-02T03:00:00Z");
  const DaemonDecision* invalid = Find(decisions, Kind::kInvalid);
  REQUIRE(invalid != nullptr);
  CHECK(invalid->file == "bad.yaml");
  CHECK(invalid->message.find("bad.yaml:4") != std::string::npos);
  CHECK(invalid->message.find("nope") != std::string::npos);
  CHECK(Find(decisions, Kind::kIgnored) != nullptr);
  CHECK(FiredDs(decisions) == Ds({"2026-09-01"}));
  h.Wait();
  // Reported once, not at every poll; fixed, it is loaded.
  CHECK(Find(h.Tick("2026-09-02T03:00:10Z"), Kind::kInvalid) == nullptr);
  h.Write("bad.yaml", WorkflowYaml("bad", R"({cron: "0 3 * * *"})"));
  auto fixed = h.Tick("2026-09-02T03:00:20Z");
  CHECK(Find(fixed, Kind::kLoaded) != nullptr);
  CHECK(FiredDs(fixed) == Ds({"2026-09-01"}));
}

TEST_CASE("daemon: start_date bounds the first interval") {
  Harness h;
  h.Write("sd.yaml", WorkflowYaml("sd", R"({cron: "0 3 * * *", catchup: true,
                                        start_date: "2026-12-01"})"));
  CHECK(FiredDs(h.Tick("2026-11-29T03:00:00Z")).empty());
  CHECK(FiredDs(h.Tick("2026-12-01T12:00:00Z")).empty());
  CHECK(FiredDs(h.Tick("2026-12-02T03:00:00Z")) == Ds({"2026-12-01"}));
}

TEST_CASE("daemon Serve loop fires consecutive intervals on a fake clock, then drains") {
  Harness h;
  h.Write("loop.yaml", WorkflowYaml("loop", R"({cron: "0 3 * * *", catchup: true,
                                            max_active_runs: 10})"));
  FakeClock clock(At("2026-10-01T12:00:00Z"));  // auto-advance: sleeps jump the clock
  std::atomic<bool> stop{false};
  std::atomic<int> fired{0};
  DaemonOptions options;
  options.workflows_dir = h.dir / "workflows";
  options.poll = std::chrono::seconds(3600);
  std::vector<std::string> lines;
  Daemon daemon(*h.store, *h.artifacts, h.registry.Catalog(), options,
                [&](const std::string& line) {
                  lines.push_back(line);
                  if (line.rfind("fired ", 0) == 0 && ++fired == 3) {
                    stop = true;
                    clock.Interrupt();
                  }
                });
  daemon.Serve(clock, stop);
  CHECK(daemon.active_runs() == 0);
  std::vector<std::string> fired_lines;
  for (const auto& l : lines) {
    if (l.rfind("fired ", 0) == 0) fired_lines.push_back(l.substr(0, 24));
  }
  CHECK(fired_lines ==
        Ds({"fired loop ds=2026-09-30", "fired loop ds=2026-10-01", "fired loop ds=2026-10-02"}));
}

namespace {

std::vector<std::string> Starts(const DueIntervals& due) {
  std::vector<std::string> out;
  for (sys_seconds t : due.to_run) out.push_back(FormatIsoUtc(t));
  return out;
}

DueIntervals Due(const char* expr, const char* tz, std::optional<sys_seconds> last, const char* now,
                 bool catchup = true) {
  auto cron = CronSchedule::Parse(expr, tz);
  REQUIRE(cron.ok());
  Schedule schedule;
  schedule.cron = expr;
  schedule.timezone = tz;
  schedule.catchup = catchup;
  auto due = FindDueIntervals(*cron, schedule, last, At(now));
  REQUIRE_MESSAGE(due.ok(), due.status().ToString());
  return *due;
}

}  // namespace

TEST_CASE("a manual run's default interval is the one the daemon fires last at first sight") {
  auto latest = [](const char* expr, const char* now, const char* start_date = nullptr) {
    auto cron = CronSchedule::Parse(expr, "UTC");
    REQUIRE(cron.ok());
    Schedule schedule{.cron = expr, .timezone = "UTC"};
    if (start_date) schedule.start_date = start_date;
    auto interval = LatestEndedInterval(*cron, schedule, At(now));
    REQUIRE_MESSAGE(interval.ok(), interval.status().ToString());
    return *interval ? FormatIsoUtc(**interval) : std::string("none");
  };
  // Daily at 03:00: at 20:30 the interval that started yesterday at 03:00 has ended today at 03:00.
  CHECK(latest("0 3 * * *", "2026-12-07T20:30:00Z") == "2026-12-06T03:00:00Z");
  // Exactly at a fire time, the interval ending then has ended.
  CHECK(latest("0 3 * * *", "2026-12-07T03:00:00Z") == "2026-12-06T03:00:00Z");
  CHECK(latest("0 3 * * *", "2026-12-07T02:59:59Z") == "2026-12-05T03:00:00Z");
  CHECK(latest("0 * * * *", "2026-12-07T20:30:00Z") == "2026-12-07T19:00:00Z");
  // None has ended since start_date: the caller keeps its own default.
  CHECK(latest("0 3 * * *", "2026-12-07T20:30:00Z", "2026-12-07") == "none");
}

TEST_CASE("due intervals of an hourly and a 15-minute schedule, at fake instants") {
  // Hourly, last decided 02:00: at 06:00:05 the intervals starting 03, 04 and 05 have ended.
  CHECK(Starts(Due("0 * * * *", "UTC", At("2026-03-01T02:00:00Z"), "2026-03-01T06:00:05Z")) ==
        Ds({"2026-03-01T03:00:00Z", "2026-03-01T04:00:00Z", "2026-03-01T05:00:00Z"}));
  // Exactly at an interval's end it is due; a second before, it is not.
  CHECK(Starts(Due("0 * * * *", "UTC", At("2026-03-01T02:00:00Z"), "2026-03-01T04:00:00Z")) ==
        Ds({"2026-03-01T03:00:00Z"}));
  CHECK(
      Starts(Due("0 * * * *", "UTC", At("2026-03-01T02:00:00Z"), "2026-03-01T03:59:59Z")).empty());
  // Every 15 minutes, first sight at 06:07: only [05:45, 06:00) is due.
  DueIntervals first = Due("*/15 * * * *", "UTC", std::nullopt, "2026-03-01T06:07:00Z");
  CHECK(first.first_sight);
  CHECK(Starts(first) == Ds({"2026-03-01T05:45:00Z"}));
  // Without catchup, of the quarters since 05:45 only the newest runs.
  DueIntervals late =
      Due("*/15 * * * *", "UTC", At("2026-03-01T05:45:00Z"), "2026-03-01T07:01:00Z", false);
  CHECK(Starts(late) == Ds({"2026-03-01T06:45:00Z"}));
  CHECK(late.dropped == 3);
}

TEST_CASE("due intervals across daylight-saving changes in New York") {
  // Fall back on 2026-11-01: the interval that starts at 01:00 EDT (05:00Z) ends at 02:00 EST
  // (07:00Z), two hours later; it is not due before.
  CHECK(Starts(Due("0 * * * *", "America/New_York", At("2026-11-01T04:00:00Z"),
                   "2026-11-01T06:30:00Z"))
            .empty());
  CHECK(Starts(Due("0 * * * *", "America/New_York", At("2026-11-01T04:00:00Z"),
                   "2026-11-01T07:00:00Z")) == Ds({"2026-11-01T05:00:00Z"}));
  // Spring forward on 2026-03-08: every 15 minutes, 01:45 EST's interval ends at 03:00 EDT.
  CHECK(Starts(Due("*/15 * * * *", "America/New_York", At("2026-03-08T06:30:00Z"),
                   "2026-03-08T07:15:00Z")) ==
        Ds({"2026-03-08T06:45:00Z", "2026-03-08T07:00:00Z"}));
}

TEST_CASE("daemon: an hourly schedule fires each hour with that hour as its logical date") {
  Harness h;
  h.Write("h.yaml", R"(name: h
schedule: {cron: "0 * * * *", catchup: true, catchup_limit: 3, max_active_runs: 10}
params:
  end: {type: string, default: "{{ data_interval_end }}"}
steps:
  only: {operator: noop}
)");
  auto first = h.Tick("2026-03-01T07:00:00Z");
  const DaemonDecision* fired = Find(first, Kind::kFired);
  REQUIRE(fired != nullptr);
  CHECK(fired->ds == "2026-03-01");
  CHECK(fired->interval == At("2026-03-01T06:00:00Z"));
  CHECK(h.Logged("fired h logical_date=2026-03-01T06:00:00Z run=" + fired->run_id +
                 " (interval 2026-03-01T06:00:00Z - 2026-03-01T07:00:00Z)"));
  h.Wait();
  auto run = h.store->GetRun(fired->run_id);
  REQUIRE(run.ok());
  CHECK(run->logical_date == "2026-03-01T06:00:00Z");
  CHECK(run->params["end"] == "2026-03-01T07:00:00Z");
  CHECK(h.Logged("finished h logical_date=2026-03-01T06:00:00Z run=" + fired->run_id));

  // Three hours later: three runs, three logical dates on the same day.
  auto later = h.Tick("2026-03-01T10:00:00Z");
  std::vector<std::string> starts;
  for (const auto& d : later) {
    if (d.kind == Kind::kFired) starts.push_back(FormatIsoUtc(d.interval));
  }
  CHECK(starts == Ds({"2026-03-01T07:00:00Z", "2026-03-01T08:00:00Z", "2026-03-01T09:00:00Z"}));
  CHECK(
      h.Logged("caught up 3 intervals of h (logical dates "
               "2026-03-01T07:00:00Z..2026-03-01T09:00:00Z)"));
  h.Wait();
  // Five missed hours past catchup_limit=3: the backfill hint names the two skipped hours.
  auto decisions = h.Tick("2026-03-01T15:00:00Z");  // Find points into it: keep it alive
  auto skipped = Find(decisions, Kind::kSkipped);
  REQUIRE(skipped != nullptr);
  CHECK(skipped->count == 2);
  CHECK(skipped->message.find("--from 2026-03-01T10:00:00Z --to 2026-03-01T11:00:00Z") !=
        std::string::npos);
  h.Wait();
  RunFilter filter;
  filter.workflow = "h";
  filter.limit = 0;
  auto runs = h.store->ListRuns(filter);
  REQUIRE(runs.ok());
  std::set<std::string> dates;
  for (const auto& r : *runs) dates.insert(r.logical_date);
  CHECK(dates.size() == 7);
  CHECK(dates.count("2026-03-01T14:00:00Z") == 1);
}

TEST_CASE("daemon Serve loop on a fake clock: a 15-minute schedule fires every quarter hour") {
  Harness h;
  h.Write("q.yaml", WorkflowYaml("q", R"({cron: "*/15 * * * *", catchup: true,
                                         max_active_runs: 10})"));
  FakeClock clock(At("2026-10-01T12:05:00Z"));
  std::atomic<bool> stop{false};
  std::atomic<int> fired{0};
  DaemonOptions options;
  options.workflows_dir = h.dir / "workflows";
  options.poll = std::chrono::seconds(3600);
  std::vector<std::string> lines;
  Daemon daemon(*h.store, *h.artifacts, h.registry.Catalog(), options,
                [&](const std::string& line) {
                  if (line.rfind("fired ", 0) == 0) {
                    lines.push_back(line.substr(0, line.find(" run=")));
                    if (++fired == 3) {
                      stop = true;
                      clock.Interrupt();
                    }
                  }
                });
  daemon.Serve(clock, stop);
  CHECK(lines == Ds({"fired q logical_date=2026-10-01T11:45:00Z",
                     "fired q logical_date=2026-10-01T12:00:00Z",
                     "fired q logical_date=2026-10-01T12:15:00Z"}));
}

TEST_CASE("serve lock: one daemon per home, the error names the holder's pid") {
  TempDir dir;
  auto first = ServeLock::Acquire(dir.path());
  REQUIRE(first.ok());
  auto second = ServeLock::Acquire(dir.path());
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == Status::Code::kConflict);
  CHECK(second.status().message().find("pid " + std::to_string(::getpid())) != std::string::npos);
  first->reset();
  CHECK(ServeLock::Acquire(dir.path()).ok());
}
