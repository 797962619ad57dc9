// A Slurm attempt's job folder: the workflow's executor and Slurm resources as loaded, the
// spec and result files round-trip, job names lead back to their folders, and RunJobTask runs
// an operator from a folder alone (as `reel task-exec` does on a node), writing result.json.
#include "engine/exec/job_spec.h"

#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "engine/base/fsutil.h"
#include "engine/exec/operator_registry.h"
#include "engine/workflow/loader.h"
#include "operators/builtin_operators.h"

using namespace reel;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() /
           ("reel-job-spec-" + std::to_string(::getpid()) + "-" + std::to_string(rand()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

WorkflowPtr Load(const std::string& yaml, Diagnostics& diags) {
  static OperatorRegistry* registry = [] {
    auto* r = new OperatorRegistry();
    RegisterBuiltinOperators(*r);
    return r;
  }();
  return LoadWorkflowText("wf.yaml", yaml, registry->Catalog(), diags);
}

}  // namespace

TEST_CASE("executor and Slurm resources: defaults, per step, merged key by key") {
  Diagnostics diags;
  auto wf = Load(R"(name: t
defaults:
  executor: slurm
  resources: {partition: gpu, time: 2h, memory: 4G}
steps:
  a:
    operator: noop
  b:
    operator: noop
    executor: local
    resources: {nodes: 2, tasks_per_node: 4, cpus: 8, sbatch_args: ["--qos=high"],
                max_parallel: 5}
)",
                 diags);
  REQUIRE_MESSAGE(wf != nullptr, diags.Format());
  const Step& a = *wf->FindStep("a");
  CHECK(a.executor == ExecutorKind::kSlurm);
  CHECK_FALSE(a.executor_set);
  CHECK(a.resources.partition == "gpu");
  CHECK(a.resources.memory == "4G");
  CHECK(a.resources.time->count() == 2 * 3600 * 1000);
  const Step& b = *wf->FindStep("b");
  CHECK(b.executor == ExecutorKind::kLocal);
  CHECK(b.executor_set);
  CHECK(b.resources.partition == "gpu");  // from defaults
  CHECK(b.resources.nodes == 2);
  CHECK(b.resources.tasks_per_node == 4);
  CHECK(b.resources.cpus == 8);
  CHECK(b.resources.sbatch_args == std::vector<std::string>{"--qos=high"});
  CHECK(b.resources.max_parallel == 5);
}

TEST_CASE("bad executor and Slurm settings are errors with their place") {
  Diagnostics diags;
  auto wf = Load(R"(name: t
steps:
  a:
    operator: noop
    executor: k8s
    resources: {memory: 4 GB, time: 10s, nodes: 0, sbatch_args: ["--job-name=x"]}
)",
                 diags);
  CHECK(wf == nullptr);
  std::string text = diags.Format();
  CAPTURE(text);
  CHECK(text.find("wf.yaml:5:15: error: executor must be local or slurm, got 'k8s'") !=
        std::string::npos);
  CHECK(text.find("resources.memory must be an amount such as 512M or 4G, got '4 GB'") !=
        std::string::npos);
  CHECK(text.find("resources.time must be at least 1m") != std::string::npos);
  CHECK(text.find("resources.nodes must be an integer between 1 and 100000") != std::string::npos);
  CHECK(text.find("resources.sbatch_args may not set '--job-name'") != std::string::npos);
}

TEST_CASE("job names lead back to the job folder") {
  CHECK(SlurmJobName("20261207T000000-abc123", "fan", 1) == "reel:20261207T000000-abc123:fan:1");
  auto dir = JobDirOf("/h", "reel:R1:fan[3]:2", "fan", 3);
  REQUIRE(dir.has_value());
  CHECK(*dir == fs::path("/h/jobs/R1/fan.3/2"));
  CHECK(*JobDirOf("/h", "reel:R1:fan:1", "fan", 7) == fs::path("/h/jobs/R1/fan.7/1"));
  CHECK(*JobDirOf("/h", "reel:R2:train:1", "train", -1) == fs::path("/h/jobs/R2/train/1"));
  CHECK_FALSE(JobDirOf("/h", "somebody-else", "a", -1).has_value());
  CHECK_FALSE(JobDirOf("/h", "reel:R1:a:x", "a", -1).has_value());
}

TEST_CASE("RunJobTask runs the operator from its folder and writes result.json") {
  TempDir tmp;
  fs::path home = tmp.path / "home";
  fs::create_directories(home);
  JobSpec spec;
  spec.op = "shell";
  spec.identity = {.run_id = "R1", .workflow = "w", .step = "s", .logical_date = "2026-01-01"};
  spec.config = {{"command",
                  {"sh", "-c",
                   "echo hi; echo '{\"n\": 5}' > \"$REEL_OUTPUTS\"; "
                   "echo x > \"$REEL_ARTIFACTS_DIR/a.txt\"; "
                   "echo \"$REEL_SECRET_TOKEN\" > /dev/null"}}};
  spec.home = home;
  spec.work_dir = home / "work" / "R1" / "s";
  spec.log_path = home / "logs" / "R1" / "s" / "1.log";
  spec.secrets = {"hunter2"};
  spec.secret_env = {{"REEL_SECRET_TOKEN", "hunter2"}};
  fs::path dir = JobDirFor(home, "R1", "s", -1, 1);
  REQUIRE(WriteJobSpec(dir, spec).ok());
  CHECK((fs::status(dir / kJobSpecFile).permissions() & fs::perms::others_read) == fs::perms::none);
  auto read_back = ReadJobSpec(dir);
  REQUIRE(read_back.ok());
  CHECK(read_back->ToJson() == spec.ToJson());

  OperatorRegistry registry;
  RegisterBuiltinOperators(registry);
  std::atomic<bool> stop{false};
  REQUIRE(RunJobTask(dir, registry, &stop).ok());
  auto result = ReadJobResult(dir);
  REQUIRE(result.ok());
  CHECK(result->status.ok());
  CHECK(result->outputs["n"] == 5);
  CHECK(result->outputs["exit_code"] == 0);
  REQUIRE(result->artifacts.size() == 1);
  CHECK(result->artifacts[0].name == "a.txt");
  CHECK(result->artifacts[0].uri.starts_with("sha256:"));
  auto log = ReadFileToString(spec.log_path);
  REQUIRE(log.ok());
  CHECK(log->find("hi") != std::string::npos);
}

TEST_CASE("RunJobTask: a failing operator is a failed result; a missing folder writes nothing") {
  TempDir tmp;
  fs::path home = tmp.path / "home";
  fs::create_directories(home);
  JobSpec spec;
  spec.op = "shell";
  spec.identity = {.run_id = "R1", .workflow = "w", .step = "s", .logical_date = "2026-01-01"};
  spec.config = {{"command", {"sh", "-c", "exit 4"}}};
  spec.home = home;
  spec.work_dir = home / "work";
  spec.log_path = home / "logs" / "1.log";
  fs::path dir = JobDirFor(home, "R1", "s", -1, 1);
  REQUIRE(WriteJobSpec(dir, spec).ok());
  OperatorRegistry registry;
  RegisterBuiltinOperators(registry);
  Status s = RunJobTask(dir, registry, nullptr);
  CHECK_FALSE(s.ok());
  auto result = ReadJobResult(dir);
  REQUIRE(result.ok());
  CHECK_FALSE(result->status.ok());
  CHECK(result->status.message() == s.message());
  CHECK(result->outputs["exit_code"] == 4);

  Status missing = RunJobTask(tmp.path / "nowhere", registry, nullptr);
  CHECK(missing.code() == Status::Code::kNotFound);
  CHECK(missing.message().find("filesystem that the machine running reel and every node share") !=
        std::string::npos);
  CHECK_FALSE(fs::exists(tmp.path / "nowhere"));
}
