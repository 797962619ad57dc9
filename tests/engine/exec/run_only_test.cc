// Running only some steps (reel run --only): selection, what is reused from the origin run,
// what is skipped, and the errors that stop it before anything runs.
#include "engine/exec/run_only.h"

#include <map>
#include <mutex>

#include <doctest/doctest.h>

#include "engine/exec/runner.h"
#include "engine/workflow/loader.h"
#include "home/home.h"
#include "operators/builtin_operators.h"
#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::TempDir;

namespace {

// `count` records each step it runs and publishes {"n": the param n, "from": upstream's n}.
class CountOperator : public Operator {
 public:
  explicit CountOperator(std::map<std::string, int>* calls, std::mutex* mu)
      : calls_(calls), mu_(mu) {}
  Status Execute(Context& ctx) override {
    {
      std::lock_guard<std::mutex> lock(*mu_);
      (*calls_)[ctx.step_name()]++;
    }
    if (ctx.config().value("fail", false)) return Status::Failed("asked to fail");
    ctx.SetOutput("n", ctx.params().value("n", 0));
    Json from = nullptr;
    for (const auto& [step, outputs] : ctx.upstream_outputs().items())
      from = outputs.value("n", Json());
    ctx.SetOutput("from", from);
    return Status::Ok();
  }

 private:
  std::map<std::string, int>* calls_;
  std::mutex* mu_;
};

struct Fixture {
  TempDir dir;
  OperatorRegistry registry;
  std::unique_ptr<StateStore> store;
  std::unique_ptr<ArtifactStore> artifacts;
  std::map<std::string, int> calls;
  std::mutex mu;

  Fixture() {
    RegisterBuiltinOperators(registry);
    OperatorDef def;
    def.info.name = "count";
    def.info.config = {{"fail", ConfigType::kBool, false, false, ""}};
    def.create = [this] { return std::make_unique<CountOperator>(&calls, &mu); };
    REQUIRE(registry.Register(std::move(def)).ok());
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

  RunOutcome Execute(const RunRequest& request) {
    SchedulerOptions options;
    options.max_parallel = 2;
    Scheduler scheduler(*store, *artifacts, registry.Catalog(), options);
    auto outcome = scheduler.Execute(request);
    REQUIRE(outcome.ok());
    return *outcome;
  }

  std::map<std::string, TaskRecord> Tasks(const std::string& run_id) {
    std::map<std::string, TaskRecord> out;
    auto tasks = store->GetTasks(run_id);
    REQUIRE(tasks.ok());
    for (auto& t : *tasks) out[t.step] = t;
    return out;
  }
};

// a -> b -> c, and d alone.
const char* kChain = R"(
name: chain
params:
  n: {type: int, default: 1}
  fail_b: {type: bool, default: false}
steps:
  a: {operator: count}
  b: {operator: count, needs: [a], with: {fail: "{{ params.fail_b }}"}}
  c: {operator: count, needs: [b]}
  d: {operator: count}
)";

}  // namespace

TEST_CASE("SelectSteps: names and comma-separated lists; an unknown name suggests another") {
  Fixture f;
  auto wf = f.Load(kChain);
  CHECK(SelectSteps(*wf, {"c,a", "a"}).value() == std::vector<int>{2, 0});
  auto unknown = SelectSteps(*wf, {"b,cc"});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().code() == Status::Code::kInvalidArgument);
  CHECK(unknown.status().message() ==
        "--only: workflow 'chain' has no step 'cc'; did you mean 'c'?");
  CHECK_FALSE(SelectSteps(*wf, {","}).ok());
}

TEST_CASE("--only runs the selected steps, reuses their ancestors and skips the rest") {
  Fixture f;
  auto wf = f.Load(kChain);
  // Nothing to reuse yet.
  auto none = PrepareOnly(*f.store, wf, {1}, "", {}, "");
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == Status::Code::kNotFound);

  auto full = PrepareRun(*f.store, wf, {{"n", "7"}}, "2026-11-28", RunTrigger::kManual);
  REQUIRE(full.ok());
  CHECK(ToString(f.Execute(*full).status) == "succeeded");
  f.calls.clear();

  auto only = PrepareOnly(*f.store, wf, {1}, "", {}, "");
  REQUIRE(only.ok());
  CHECK(only->origin_run_id == full->run_id);
  CHECK(only->logical_date == "2026-11-28");
  CHECK(only->params["n"] == 7);  // the origin's params
  CHECK(only->reuse.count({"a", -1}) == 1);
  CHECK(only->skip ==
        std::map<std::string, std::string>{{"c", kNotSelectedReason}, {"d", kNotSelectedReason}});
  CHECK(ToString(f.Execute(*only).status) == "succeeded");
  CHECK(f.calls == std::map<std::string, int>{{"b", 1}});
  auto tasks = f.Tasks(only->run_id);
  CHECK(tasks["a"].reused_from.has_value());
  CHECK(tasks["b"].outputs["from"] == 7);  // read a's outputs from the origin run
  CHECK(ToString(tasks["c"].status) == "skipped");
  CHECK(tasks["c"].error == kNotSelectedReason);
  CHECK(ToString(tasks["d"].status) == "skipped");
  auto run = f.store->GetRun(only->run_id).value();
  CHECK(run.origin_run_id == full->run_id);
  CHECK(ToString(run.trigger) == "manual");
}

TEST_CASE("--only refuses an origin run where an ancestor did not succeed") {
  Fixture f;
  auto wf = f.Load(kChain);
  auto failed = PrepareRun(*f.store, wf, {{"fail_b", "true"}}, "2026-11-28", RunTrigger::kManual);
  REQUIRE(failed.ok());
  CHECK(ToString(f.Execute(*failed).status) == "failed");
  auto c = PrepareOnly(*f.store, wf, {2}, failed->run_id, {}, "");
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == Status::Code::kFailed);
  CHECK(c.status().message().find("step 'b', upstream of the selected steps, did not succeed in "
                                  "run " +
                                  failed->run_id + " (it is failed there)") != std::string::npos);
  // Selecting b as well runs both, in order, with a reused.
  f.calls.clear();
  auto bc = PrepareOnly(*f.store, wf, {2, 1}, failed->run_id, {{"fail_b", "false"}}, "");
  REQUIRE(bc.ok());
  CHECK(ToString(f.Execute(*bc).status) == "succeeded");
  CHECK(f.calls == std::map<std::string, int>{{"b", 1}, {"c", 1}});
  // A run of another workflow, or none at all, is a usage error.
  auto other = PrepareOnly(*f.store, f.Load("name: other\nsteps:\n  a: {operator: count}\n"), {0},
                           failed->run_id, {}, "");
  CHECK(other.status().code() == Status::Code::kInvalidArgument);
  CHECK(PrepareOnly(*f.store, wf, {1}, "nosuchrun", {}, "").status().code() ==
        Status::Code::kInvalidArgument);
}
