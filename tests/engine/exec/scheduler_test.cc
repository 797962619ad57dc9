// Scheduler semantics at 1, 2 and 4 workers. Every run has a deadline: a deadlock fails the
// test instead of hanging it.
#include "engine/exec/scheduler.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>

#include "engine/base/process.h"
#include "engine/exec/runner.h"
#include "engine/workflow/loader.h"
#include "home/home.h"
#include "operators/builtin_operators.h"
#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::TempDir;

namespace {

class LambdaOperator : public Operator {
 public:
  explicit LambdaOperator(std::function<Status(Context&)> body) : body_(std::move(body)) {}
  Status Execute(Context& ctx) override { return body_(ctx); }

 private:
  std::function<Status(Context&)> body_;
};

// Shared, thread-safe record of what operators did.
struct Journal {
  std::mutex mu;
  std::vector<std::string> started;
  std::map<std::string, int> calls;
  int running = 0, max_running = 0;

  void Start(const std::string& label) {
    std::lock_guard<std::mutex> lock(mu);
    started.push_back(label);
    calls[label]++;
    max_running = std::max(max_running, ++running);
  }
  void End() {
    std::lock_guard<std::mutex> lock(mu);
    --running;
  }
  size_t IndexOf(const std::string& label) {
    std::lock_guard<std::mutex> lock(mu);
    return static_cast<size_t>(std::find(started.begin(), started.end(), label) - started.begin());
  }
};

// True once `pid` no longer runs (gone, or a zombie awaiting its reaper), waiting up to 2 s.
bool ProcessGone(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::string stat = reel::testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
    auto close_paren = stat.rfind(')');
    if (close_paren != std::string::npos && close_paren + 2 < stat.size() &&
        stat[close_paren + 2] == 'Z') {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string LabelOf(Context& ctx) {
  std::string label = ctx.step_name();
  if (!ctx.item().is_null()) label += "[" + ctx.item().dump() + "]";
  return label;
}

void RegisterTestOperators(OperatorRegistry& registry, Journal& journal) {
  RegisterBuiltinOperators(registry);
  auto add = [&](const std::string& name, std::vector<ConfigField> config,
                 std::function<Status(Context&)> body) {
    OperatorDef def;
    def.info.name = name;
    def.info.description = "test operator";
    def.info.config = std::move(config);
    def.info.allow_unknown_keys = true;
    def.create = [body] { return std::make_unique<LambdaOperator>(body); };
    REQUIRE(registry.Register(std::move(def)).ok());
  };
  // Records its start, sleeps `ms`, echoes `value` as output `value`.
  add("record", {{"ms", ConfigType::kInt, false, 0, ""}}, [&journal](Context& ctx) {
    journal.Start(LabelOf(ctx));
    ctx.cancellation().WaitFor(std::chrono::milliseconds(ctx.config().value("ms", 0)));
    if (ctx.config().contains("value")) ctx.SetOutput("value", ctx.config()["value"]);
    ctx.SetOutput("upstream", ctx.upstream_outputs());
    journal.End();
    return Status::Ok();
  });
  // Fails until attempt `succeed_on` (0: always fails).
  add("flaky", {{"succeed_on", ConfigType::kInt, false, 0, ""}}, [&journal](Context& ctx) {
    journal.Start(LabelOf(ctx));
    journal.End();
    int succeed_on = ctx.config().value("succeed_on", 0);
    if (succeed_on > 0 && ctx.attempt() >= succeed_on) return Status::Ok();
    return Status::Failed("flaky failure on attempt " + std::to_string(ctx.attempt()));
  });
  add("throws", {}, [](Context&) -> Status { throw std::runtime_error("boom"); });
  // Runs on the loop thread (OperatorInfo::runs_inline): fails until attempt `succeed_on`,
  // throws when `throw` is set, and echoes its upstream outputs.
  {
    OperatorDef def;
    def.info.name = "quick";
    def.info.description = "test operator that runs inline";
    def.info.config = {{"succeed_on", ConfigType::kInt, false, 1, ""}};
    def.info.allow_unknown_keys = true;
    def.info.runs_inline = true;
    def.create = [] {
      return std::make_unique<LambdaOperator>([](Context& ctx) -> Status {
        if (ctx.config().value("throw", false)) throw std::runtime_error("inline boom");
        if (ctx.attempt() < ctx.config().value("succeed_on", 1)) {
          return Status::Failed("not yet, attempt " + std::to_string(ctx.attempt()));
        }
        ctx.SetOutput("upstream", ctx.upstream_outputs());
        return Status::Ok();
      });
    };
    REQUIRE(registry.Register(std::move(def)).ok());
  }
  // Outputs (or records an event with) a value nested `depth` deep, as a plugin could.
  add("deep", {{"depth", ConfigType::kInt, true, nullptr, ""}}, [](Context& ctx) {
    Json v = "leaf";
    for (int i = 0; i < ctx.config()["depth"].get<int>(); ++i) v = Json::array({std::move(v)});
    if (ctx.config().value("event", false)) {
      ctx.RecordEvent("deep.event", {{"v", std::move(v)}});
    } else {
      ctx.SetOutput("v", std::move(v));
    }
    return Status::Ok();
  });
  // Ignores cancellation for `ms`.
  add("stubborn", {{"ms", ConfigType::kInt, false, 0, ""}}, [](Context& ctx) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ctx.config().value("ms", 0)));
    return Status::Ok();
  });
}

struct Harness {
  TempDir dir;
  Journal journal;
  OperatorRegistry registry;
  std::unique_ptr<StateStore> store;
  std::unique_ptr<ArtifactStore> artifacts;
  std::atomic<bool> stop{false};

  Harness() {
    RegisterTestOperators(registry, journal);
    store = OpenStateStore(dir.path()).value();
    artifacts = ArtifactStore::Open(dir.path()).value();
  }

  WorkflowPtr Load(const std::string& yaml) {
    Diagnostics diags;
    auto wf = LoadWorkflowText("test.yaml", yaml, registry.Catalog(), diags);
    INFO(diags.Format());
    REQUIRE(wf != nullptr);
    return wf;
  }

  // Runs with a deadline; a run that does not finish in time fails the test.
  RunOutcome Run(const std::string& yaml, int workers,
                 std::function<void(SchedulerOptions&)> tweak = {},
                 std::chrono::seconds deadline = std::chrono::seconds(20)) {
    auto wf = Load(yaml);
    auto request = PrepareRun(*store, wf, {}, "2026-11-28", RunTrigger::kManual);
    REQUIRE(request.ok());
    SchedulerOptions options;
    options.max_parallel = workers;
    options.cpus = 64;
    options.kill_grace = std::chrono::milliseconds(300);
    options.heartbeat = std::chrono::milliseconds(100);
    if (tweak) tweak(options);
    Scheduler scheduler(*store, *artifacts, registry.Catalog(), options);
    auto future =
        std::async(std::launch::async, [&] { return scheduler.Execute(*request, &stop); });
    if (future.wait_for(deadline) != std::future_status::ready) {
      FAIL_CHECK("run did not finish within the deadline: deadlock?");
      stop = true;
      if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) std::abort();
    }
    auto outcome = future.get();
    REQUIRE(outcome.ok());
    last_run = request->run_id;
    return *outcome;
  }

  std::map<std::string, TaskRecord> Tasks() {
    std::map<std::string, TaskRecord> out;
    auto tasks = store->GetTasks(last_run);
    REQUIRE(tasks.ok());
    for (const auto& t : *tasks) {
      out[t.item_index < 0 ? t.step : t.step + "[" + std::to_string(t.item_index) + "]"] = t;
    }
    return out;
  }

  std::string last_run;
};

}  // namespace

TEST_CASE("scheduler: order, parallelism, foreach, when, outputs at 1, 2 and 4 workers") {
  for (int workers : {1, 2, 4}) {
    CAPTURE(workers);
    Harness h;
    auto outcome = h.Run(R"(
name: semantics
steps:
  a: {operator: record, with: {value: 7}}
  b: {operator: record, needs: [a], with: {ms: 30, value: "{{ steps.a.outputs.value + 1 }}"}}
  c: {operator: record, needs: [a], with: {ms: 30}}
  fan:
    operator: record
    needs: [a]
    foreach: [1, 2, 3, 4]
    with: {ms: 20, value: "{{ item * 10 }}"}
  join: {operator: record, needs: [b, c, fan], with: {value: "{{ steps.fan.outputs | length }}"}}
  never: {operator: record, needs: [join], when: "{{ steps.join.outputs.value > 100 }}"}
  after_never: {operator: record, needs: [never]}
)",
                         workers);
    CHECK(ToString(outcome.status) == "succeeded");
    auto tasks = h.Tasks();
    CHECK(tasks["b"].outputs["value"] == 8);
    CHECK(tasks["fan[2]"].outputs["value"] == 30);
    CHECK(tasks["join"].outputs["value"] == 4);
    CHECK(ToString(tasks["never"].status) == "skipped");
    CHECK(ToString(tasks["after_never"].status) == "skipped");
    // Dependencies are respected.
    CHECK(h.journal.IndexOf("a") < h.journal.IndexOf("b"));
    CHECK(h.journal.IndexOf("b") < h.journal.IndexOf("join"));
    CHECK(h.journal.IndexOf("fan[4]") < h.journal.IndexOf("join"));
    // Parallelism never exceeds the limit and uses it when work allows.
    CHECK(h.journal.max_running <= workers);
    if (workers > 1) CHECK(h.journal.max_running >= 2);
  }
}

TEST_CASE("scheduler: retries, failure propagation, catch and exceptions") {
  for (int workers : {1, 2, 4}) {
    CAPTURE(workers);
    Harness h;
    auto outcome = h.Run(R"(
name: failures
steps:
  recovers: {operator: flaky, retries: 2, retry_delay: 10ms, with: {succeed_on: 3}}
  fails: {operator: flaky, retries: 1, retry_delay: 10ms}
  downstream: {operator: record, needs: [fails]}
  further: {operator: record, needs: [downstream]}
  independent: {operator: record, with: {ms: 50}}
  caught: {operator: throws, catch: true}
  after_caught: {operator: record, needs: [caught]}
)",
                         workers);
    CHECK(ToString(outcome.status) == "failed");
    CHECK(outcome.error.find("fails") != std::string::npos);
    auto tasks = h.Tasks();
    CHECK(ToString(tasks["recovers"].status) == "succeeded");
    CHECK(tasks["recovers"].attempts == 3);
    CHECK(ToString(tasks["fails"].status) == "failed");
    CHECK(tasks["fails"].attempts == 2);
    CHECK(ToString(tasks["downstream"].status) == "upstream_failed");
    CHECK(ToString(tasks["further"].status) == "upstream_failed");
    CHECK(ToString(tasks["independent"].status) == "succeeded");
    CHECK(ToString(tasks["caught"].status) == "failed");
    CHECK(tasks["caught"].error.find("boom") != std::string::npos);
    CHECK(ToString(tasks["after_caught"].status) == "succeeded");
  }
}

TEST_CASE("scheduler: a run whose only failure is caught succeeds") {
  Harness h;
  auto outcome = h.Run(
      "name: c\nsteps:\n  x: {operator: throws, catch: true}\n  y: {operator: noop, needs: [x]}\n",
      2);
  CHECK(ToString(outcome.status) == "succeeded");
}

TEST_CASE("scheduler: outputs nested too deep fail the step, not the process") {
  Harness h;
  auto outcome = h.Run(R"(
name: deep
steps:
  shallow: {operator: deep, with: {depth: 100}}
  deep: {operator: deep, retries: 2, retry_delay: 10ms, with: {depth: 100000}}
  event: {operator: deep, with: {depth: 100000, event: true}}
)",
                       2);
  CHECK(ToString(outcome.status) == "failed");
  auto tasks = h.Tasks();
  CHECK(ToString(tasks["shallow"].status) == "succeeded");
  CHECK(ToString(tasks["deep"].status) == "failed");
  CHECK(tasks["deep"].attempts == 1);  // the same outputs every time: no retry
  CHECK(tasks["deep"].error.find("the step's outputs nests deeper than 256 levels") !=
        std::string::npos);
  CHECK(ToString(tasks["event"].status) == "succeeded");
  auto events = h.store->GetEvents(h.last_run);
  REQUIRE(events.ok());
  bool found = false;
  for (const auto& e : *events) {
    if (e.kind != "deep.event") continue;
    found = true;
    CHECK(e.payload["error"].get<std::string>().find("nests deeper") != std::string::npos);
  }
  CHECK(found);
  // Torn down without recursing 100,000 levels.
}

TEST_CASE("scheduler: timeouts cancel cooperative operators and abandon stubborn ones") {
  for (int workers : {1, 2, 4}) {
    CAPTURE(workers);
    Harness h;
    auto outcome = h.Run(R"(
name: timeouts
steps:
  slow: {operator: sleep, timeout: 100ms, with: {seconds: 30}}
  stubborn: {operator: stubborn, timeout: 100ms, with: {ms: 1500}}
  fine: {operator: sleep, with: {seconds: 0.01}}
)",
                         workers);
    CHECK(ToString(outcome.status) == "failed");
    auto tasks = h.Tasks();
    CHECK(ToString(tasks["slow"].status) == "failed");
    CHECK(ToString(tasks["stubborn"].status) == "failed");
    CHECK(ToString(tasks["fine"].status) == "succeeded");
    auto attempts = *h.store->GetAttempts(tasks["slow"].task_id);
    REQUIRE(attempts.size() == 1);
    CHECK(ToString(attempts[0].status) == "timed_out");
    CHECK(attempts[0].error.find("timed out after 100ms") != std::string::npos);
    // The stubborn operator ignored its token and was abandoned after the grace period.
    auto stubborn = *h.store->GetAttempts(tasks["stubborn"].task_id);
    REQUIRE(stubborn.size() == 1);
    CHECK(ToString(stubborn[0].status) == "timed_out");
    CHECK(stubborn[0].error.find("did not stop within the grace period") != std::string::npos);
  }
}

TEST_CASE("scheduler: cancellation stops running and queued tasks") {
  for (int workers : {1, 2, 4}) {
    CAPTURE(workers);
    Harness h;
    std::thread canceller([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      h.stop = true;
    });
    auto outcome = h.Run(R"(
name: cancel
steps:
  long: {operator: sleep, with: {seconds: 30}}
  other: {operator: sleep, foreach: [1, 2, 3, 4, 5, 6], with: {seconds: 30}}
  later: {operator: noop, needs: [long]}
)",
                         workers);
    canceller.join();
    CHECK(ToString(outcome.status) == "cancelled");
    for (const auto& [label, task] : h.Tasks()) {
      CAPTURE(label);
      CHECK(ToString(task.status) == "cancelled");
    }
    auto run = *h.store->GetRun(h.last_run);
    CHECK(ToString(run.status) == "cancelled");
  }
}

TEST_CASE("scheduler: shell steps run on the loop, within --max-parallel, output in their logs") {
  for (int workers : {1, 2, 4}) {
    CAPTURE(workers);
    Harness h;
    // Each command counts itself in while it runs; the most seen at once is its peak.
    std::string count = (h.dir / "count").string();
    std::string yaml = "name: shells\nsteps:\n";
    for (int i = 0; i < 12; ++i) {
      yaml += "  s" + std::to_string(i) +
              ": {operator: shell, with: {shell: true, command: \"echo start >> " + count +
              "; echo out-" + std::to_string(i) + "; sleep 0.05; echo end >> " + count + "\"}}\n";
    }
    yaml += "  quiet: {operator: shell, with: {command: [\"true\"]}}\n";
    yaml += "  last: {operator: noop, needs: [s0, s11, quiet]}\n";
    auto outcome = h.Run(yaml, workers);
    CHECK(ToString(outcome.status) == "succeeded");
    int running = 0, peak = 0;
    for (const auto& line : [&] {
           std::vector<std::string> lines;
           std::istringstream in(reel::testing::ReadFile(count));
           for (std::string l; std::getline(in, l);) lines.push_back(l);
           return lines;
         }()) {
      running += line == "start" ? 1 : -1;
      peak = std::max(peak, running);
    }
    CHECK(peak <= workers);
    auto tasks = h.Tasks();
    CHECK(ToString(tasks["last"].status) == "succeeded");
    auto attempts = *h.store->GetAttempts(tasks["s7"].task_id);
    REQUIRE(attempts.size() == 1);
    CHECK(attempts[0].exit_code == 0);
    std::string log = reel::testing::ReadFile(attempts[0].log_path);
    CHECK(log.find("running: /bin/sh -c") != std::string::npos);
    CHECK(log.find("out-7\n") != std::string::npos);
    // Started and ended within one group commit or not, an attempt is one complete record.
    auto quiet = *h.store->GetAttempts(tasks["quiet"].task_id);
    REQUIRE(quiet.size() == 1);
    CHECK(ToString(quiet[0].status) == "succeeded");
    CHECK(quiet[0].exit_code == 0);
    CHECK(quiet[0].ended_at.has_value());
    CHECK(quiet[0].pid == ::getpid());
    CHECK_FALSE(std::filesystem::exists(quiet[0].log_path));
  }
}

TEST_CASE("scheduler: a shell step's timeout and cancel reach its process group") {
  for (int workers : {1, 2}) {
    CAPTURE(workers);
    Harness h;
    std::string pid_file = (h.dir / "grandchild").string();
    auto start = std::chrono::steady_clock::now();
    auto outcome = h.Run(R"(
name: shell_timeouts
steps:
  slow:
    operator: shell
    timeout: 200ms
    with: {shell: true, command: "sleep 30 & echo $! > )" +
                             pid_file + R"(; wait"}
  deaf:
    operator: shell
    timeout: 200ms
    with: {shell: true, kill_grace: 300ms, command: "trap '' TERM; sleep 30"}
  fails: {operator: shell, with: {shell: true, command: "echo oops; exit 3"}}
)",
                         workers);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(15));
    CHECK(ToString(outcome.status) == "failed");
    auto tasks = h.Tasks();
    auto slow = *h.store->GetAttempts(tasks["slow"].task_id);
    CHECK(ToString(slow[0].status) == "timed_out");
    pid_t grandchild = std::stoi(reel::testing::ReadFile(pid_file));
    CHECK(ProcessGone(grandchild));
    auto deaf = *h.store->GetAttempts(tasks["deaf"].task_id);
    CHECK(ToString(deaf[0].status) == "timed_out");
    CHECK(reel::testing::ReadFile(deaf[0].log_path).find("outlived SIGTERM") != std::string::npos);
    auto fails = *h.store->GetAttempts(tasks["fails"].task_id);
    CHECK(ToString(fails[0].status) == "failed");
    CHECK(fails[0].exit_code == 3);
    CHECK(fails[0].error.find("oops") != std::string::npos);
  }

  Harness h;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    h.stop = true;
  });
  auto outcome = h.Run(
      "name: c\nsteps:\n  s: {operator: shell, with: {command: [sleep, \"30\"]}}\n"
      "  t: {operator: shell, foreach: [1, 2, 3], with: {command: [sleep, \"30\"]}}\n",
      2);
  canceller.join();
  CHECK(ToString(outcome.status) == "cancelled");
  for (const auto& [label, task] : h.Tasks()) {
    CAPTURE(label);
    CHECK(ToString(task.status) == "cancelled");
  }
  CHECK(LiveChildCount() == 0);
}

TEST_CASE("scheduler: `reel cancel` from another connection is noticed") {
  Harness h;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto other = OpenStateStore(h.dir.path());
    auto runs = *(*other)->ListRuns({});
    REQUIRE(!runs.empty());
    CHECK((*other)->RequestCancel(runs[0].run_id).ok());
  });
  auto outcome = h.Run("name: c\nsteps:\n  s: {operator: sleep, with: {seconds: 30}}\n", 2);
  canceller.join();
  CHECK(ToString(outcome.status) == "cancelled");
}

TEST_CASE("scheduler: named pools limit concurrency") {
  Harness h;
  h.Run(R"(
name: pools
pools: {gpu_box: 1}
steps:
  train: {operator: record, foreach: [1, 2, 3], resources: {pool: gpu_box}, with: {ms: 30}}
)",
        4);
  CHECK(h.journal.max_running == 1);
}

TEST_CASE("scheduler: inline operators take no worker slot and record one attempt each") {
  Harness h;
  auto outcome = h.Run(R"(
name: inline
steps:
  slow: {operator: record, with: {ms: 400}}
  a: {operator: noop}
  b: {operator: quick, needs: [a]}
  c: {operator: quick, needs: [b], with: {succeed_on: 2}, retries: 2, retry_delay: 10ms}
  d: {operator: quick, needs: [c], catch: true, with: {throw: true}}
  e: {operator: quick, needs: [c]}
)",
                       1);
  CHECK(ToString(outcome.status) == "succeeded");
  auto tasks = h.Tasks();
  // With one worker busy on `slow`, the inline chain still ran to the end meanwhile.
  REQUIRE(tasks["e"].ended_at.has_value());
  REQUIRE(tasks["slow"].ended_at.has_value());
  CHECK(*tasks["e"].ended_at <= *tasks["slow"].ended_at);
  CHECK(tasks["b"].outputs["upstream"].contains("a"));
  CHECK(ToString(tasks["c"].status) == "succeeded");
  CHECK(tasks["c"].attempts == 2);
  CHECK(ToString(tasks["d"].status) == "failed");
  CHECK(tasks["d"].error.find("inline boom") != std::string::npos);
  for (const char* step : {"a", "b", "e"}) {
    CAPTURE(step);
    auto attempts = h.store->GetAttempts(tasks[step].task_id);
    REQUIRE(attempts.ok());
    REQUIRE(attempts->size() == 1);
    CHECK(ToString(attempts->front().status) == "succeeded");
    CHECK(attempts->front().ended_at.has_value());
    CHECK(tasks[step].started_at.has_value());
  }
  auto retried = h.store->GetAttempts(tasks["c"].task_id);
  REQUIRE(retried.ok());
  REQUIRE(retried->size() == 2);
  CHECK(ToString(retried->at(0).status) == "failed");
  CHECK(ToString(retried->at(1).status) == "succeeded");
}

TEST_CASE("scheduler: a step asking for more gpus than the run has is refused before running") {
  Harness h;
  auto wf = h.Load("name: g\nsteps:\n  t: {operator: noop, resources: {gpus: 1}}\n");
  auto request = PrepareRun(*h.store, wf, {}, "2026-11-28", RunTrigger::kManual);
  Scheduler scheduler(*h.store, *h.artifacts, h.registry.Catalog(), SchedulerOptions{});
  auto outcome = scheduler.Execute(*request);
  REQUIRE_FALSE(outcome.ok());
  CHECK(outcome.status().message().find("--gpus") != std::string::npos);
}

TEST_CASE("scheduler: resume reuses succeeded tasks and runs the rest") {
  Harness h;
  const char* yaml = R"(
name: resume
params:
  succeed_on: {type: int, default: 0}
steps:
  first: {operator: record, with: {value: 1}}
  second: {operator: flaky, needs: [first], with: {succeed_on: "{{ params.succeed_on }}"}}
  third: {operator: record, needs: [second]}
)";
  auto outcome = h.Run(yaml, 2);
  CHECK(ToString(outcome.status) == "failed");
  std::string failed_run = h.last_run;
  // Reuse is what is under test: let `second` succeed this time by changing the param.
  auto request = PrepareResume(*h.store, h.registry.Catalog(), failed_run, "");
  REQUIRE(request.ok());
  CHECK(request->reuse.count({"first", -1}) == 1);
  CHECK(request->reuse.count({"second", -1}) == 0);
  request->params["succeed_on"] = 1;
  Scheduler scheduler(*h.store, *h.artifacts, h.registry.Catalog(), SchedulerOptions{});
  auto resumed = scheduler.Execute(*request);
  REQUIRE(resumed.ok());
  CHECK(ToString(resumed->status) == "succeeded");
  CHECK(h.journal.calls["first"] == 1);  // reused, not executed again
  CHECK(h.journal.calls["third"] == 1);
  auto tasks = h.store->GetTasks(request->run_id);
  REQUIRE(tasks.ok());
  for (const auto& t : *tasks) {
    if (t.step == "first") {
      CHECK(t.reused_from.has_value());
      CHECK(t.outputs["value"] == 1);
    }
  }
}

TEST_CASE("scheduler: resuming a resume that died before recording any task reuses its origin's") {
  Harness h;
  const char* yaml = R"(
name: chain
params:
  succeed_on: {type: int, default: 0}
steps:
  first: {operator: record, with: {value: 1}}
  second: {operator: flaky, needs: [first], with: {succeed_on: "{{ params.succeed_on }}"}}
)";
  auto outcome = h.Run(yaml, 2);
  CHECK(ToString(outcome.status) == "failed");
  std::string failed_run = h.last_run;
  // A resume of it whose engine was killed between creating its run and its first commit:
  // a run record, and not one task.
  auto first_resume = PrepareResume(*h.store, h.registry.Catalog(), failed_run, "");
  REQUIRE(first_resume.ok());
  auto origin = h.store->GetRun(failed_run);
  REQUIRE(origin.ok());
  RunRecord killed;
  killed.run_id = first_resume->run_id;
  killed.workflow = origin->workflow;
  killed.version_hash = origin->version_hash;
  killed.params = origin->params;
  killed.logical_date = origin->logical_date;
  killed.trigger = RunTrigger::kResume;
  killed.origin_run_id = failed_run;
  killed.status = RunStatus::kFailed;
  REQUIRE(h.store->CreateRun(killed).ok());
  REQUIRE(h.store->UpdateRunStatus(killed.run_id, RunStatus::kFailed).ok());

  auto request = PrepareResume(*h.store, h.registry.Catalog(), killed.run_id, "");
  REQUIRE(request.ok());
  CHECK(request->origin_run_id == killed.run_id);
  CHECK(request->reuse.count({"first", -1}) == 1);  // not run a second time
  CHECK(request->reuse.count({"second", -1}) == 0);
}
