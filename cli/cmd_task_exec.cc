// `reel task-exec`: what a Slurm job runs (engine/exec/job_spec.h). Not meant to be typed.
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "cli/common.h"
#include "engine/base/fsutil.h"
#include "engine/exec/job_spec.h"

namespace reel::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void OnStopSignal(int) { g_stop.store(true); }

// The job folder of this array task: line SLURM_ARRAY_TASK_ID (from 0) of the manifest.
Result<std::filesystem::path> ArrayTaskDir(const std::string& manifest) {
  const char* index_text = std::getenv("SLURM_ARRAY_TASK_ID");
  if (index_text == nullptr || *index_text == '\0') {
    return Status::InvalidArgument(
        "--array-manifest needs $SLURM_ARRAY_TASK_ID (run it as an "
        "array task of a Slurm job)");
  }
  long index = std::strtol(index_text, nullptr, 10);
  REEL_ASSIGN_OR_RETURN(std::string text, ReadFileToString(manifest));
  long line = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (line == index) return std::filesystem::path(text.substr(pos, end - pos));
    pos = end + 1;
    ++line;
  }
  return Status::NotFound("array task " + std::string(index_text) + " is not in " + manifest);
}

}  // namespace

void AddTaskExecCommand(CLI::App& app, GlobalOptions& options) {
  auto* cmd = app.add_subcommand(
      "task-exec", "Run one attempt from its job folder, on a node (what Slurm jobs run)");
  cmd->group("");  // internal: not listed in --help
  auto dir = std::make_shared<std::string>();
  auto manifest = std::make_shared<std::string>();
  auto* dir_opt = cmd->add_option("JOB_DIR", *dir, "the attempt's job folder");
  auto* manifest_opt = cmd->add_option("--array-manifest", *manifest,
                                       "the job folders of an array, one per line, picked by "
                                       "$SLURM_ARRAY_TASK_ID");
  dir_opt->excludes(manifest_opt);
  cmd->callback([&options, dir, manifest] {
    options.action = [&options, dir, manifest]() -> int {
      // scancel, a time limit or a preemption: SIGTERM first, then SIGKILL after KillWait.
      std::signal(SIGTERM, OnStopSignal);
      std::signal(SIGINT, OnStopSignal);
      std::filesystem::path job_dir = *dir;
      if (!manifest->empty()) {
        auto found = ArrayTaskDir(*manifest);
        if (!found.ok()) {
          PrintError(found.status().message());
          return kExitUsage;
        }
        job_dir = *found;
      }
      if (job_dir.empty()) {
        PrintError("task-exec: give a job folder or --array-manifest FILE");
        return kExitUsage;
      }
      OperatorRegistry registry;
      if (!SetUpRegistry(options, registry)) return kExitUsage;
      Status s = RunJobTask(job_dir, registry, &g_stop);
      if (!s.ok()) {
        PrintError(s.message());
        return kExitInternal;
      }
      return kExitOk;
    };
  });
}

}  // namespace reel::cli
