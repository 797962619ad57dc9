// An attempt that runs away from the engine, as a cluster job: its job folder.
//
// The engine writes everything the attempt needs into <home>/jobs/<run>/<step[.item]>/<attempt>/
// spec.json (mode 0600: it holds the rendered config, secrets included), and the job runs
// `reel task-exec FOLDER` on a node. task-exec (RunJobTask) loads the operator, its plugins
// too, runs it with a TaskContext whose log is the attempt's log, whose artifacts go into the
// home's content-addressed store, and writes what it reported to result.json, atomically. It
// never opens reel.db: the engine reads result.json once Slurm says the job ended, and records
// the attempt in the same transaction as a local one. A job that wrote no result (killed by a
// time limit, a node failure, scancel) fails the attempt with Slurm's reason.
//
// The home, or at least its jobs/, logs/, work/ and artifacts/ folders, must live on a
// filesystem that the engine's machine and the nodes share, at the same path.
#pragma once

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/exec/task_context.h"
#include "reel/status.h"

namespace reel {

class OperatorRegistry;

inline constexpr int kJobSpecVersion = 1;

struct JobSpec {
  std::string op;                    // the operator
  std::vector<std::string> plugins;  // shared libraries to load first (absolute paths)
  TaskIdentity identity;
  Json config = Json::object();  // rendered
  Json params = Json::object();
  Json upstream_outputs = Json::object();
  Json upstream_artifacts = Json::object();  // local paths (TaskContext::upstream_artifacts)
  std::filesystem::path home, work_dir, log_path, workflow_dir;
  std::optional<std::vector<std::string>> declared_outputs, declared_artifacts;
  std::vector<std::string> secrets;               // values to redact
  std::map<std::string, std::string> secret_env;  // REEL_SECRET_* the step's process gets
  uint64_t log_max_bytes = UINT64_MAX;

  Json ToJson() const;
  static Result<JobSpec> FromJson(const Json& json);
};

// What the job reports back.
struct JobResult {
  Status status;  // the operator's
  Json outputs = Json::object();
  std::vector<ArtifactRef> artifacts;
  std::vector<std::pair<std::string, std::pair<double, int64_t>>> metrics;
  std::vector<std::pair<std::string, Json>> events;
  std::string host;  // the node it ran on

  Json ToJson() const;
  static Result<JobResult> FromJson(const Json& json);
};

// The name an attempt's job is submitted under: "reel:RUN:LABEL:ATTEMPT", where LABEL is the
// step for the first attempts of a foreach's items (they share an array) and "step[i]" or
// "step" otherwise.
std::string SlurmJobName(const std::string& run_id, const std::string& label, int attempt);
// <home>/jobs/<run>/<step[.item]>/<attempt>: the job folder of a task's attempt.
std::filesystem::path JobDirFor(const std::filesystem::path& home, const std::string& run_id,
                                const std::string& step, int64_t item_index, int attempt);
// The job folder of the task (`step`, `item_index`) whose job was submitted as `job_name`;
// nullopt when the name is not one SlurmJobName makes.
std::optional<std::filesystem::path> JobDirOf(const std::filesystem::path& home,
                                              const std::string& job_name, const std::string& step,
                                              int64_t item_index);

inline constexpr const char* kJobSpecFile = "spec.json";
inline constexpr const char* kJobResultFile = "result.json";

// Writes spec.json (0600) into `dir`, creating it (0700).
Status WriteJobSpec(const std::filesystem::path& dir, const JobSpec& spec);
Result<JobSpec> ReadJobSpec(const std::filesystem::path& dir);
// NotFound when the job wrote none.
Result<JobResult> ReadJobResult(const std::filesystem::path& dir);

// task-exec: runs the job of folder `dir` with the operators of `registry` (plugins named by
// the spec are loaded into it), writes result.json and returns the operator's status. A spec
// that cannot be read, or a home that this node does not see, is an error before anything
// runs (nothing is written). `cancel` stops the operator (scancel sends SIGTERM first).
Status RunJobTask(const std::filesystem::path& dir, OperatorRegistry& registry,
                  const std::atomic<bool>* cancel);

}  // namespace reel
