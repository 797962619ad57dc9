// The workflow model: an immutable, validated description of a pipeline, loaded from YAML by
// engine/workflow_loader.h. Values under `with:`, `foreach:` and `when:` stay unrendered
// (templates are rendered per task by the scheduler); everything else is typed here.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/diagnostic.h"
#include "engine/base/duration.h"
#include "engine/workflow/yaml_tree.h"

namespace reel {

using Json = nlohmann::json;

enum class ParamType { kString, kInt, kFloat, kBool, kDate, kList };
const char* ParamTypeName(ParamType type);

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kString;
  Json default_value;  // may be a template string such as "{{ logical_date }}"
  bool has_default = false;
  bool required = false;
  std::string description;
  SourceMark mark;
};

struct RetryPolicy {
  int retries = 0;  // extra attempts after the first
  Millis delay{std::chrono::seconds(10)};
  double backoff = 2.0;  // delay multiplier per attempt; jitter of +-10% is added
  Millis max_delay{std::chrono::hours(1)};
};

struct Resources {
  // What the step uses in all; on Slurm each of its job's tasks gets cpus / tasks of them.
  double cpus = 1;
  int gpus = 0;
  std::string pool;  // a named pool; empty for none
  // Slurm only (executor: slurm); the local executor ignores them.
  std::string memory;          // sbatch --mem, e.g. "4G"; empty: the partition's default
  std::optional<Millis> time;  // sbatch --time: Slurm's limit for the job
  int nodes = 1;               // sbatch --nodes
  int tasks_per_node = 1;      // sbatch --ntasks-per-node (torch_train: one rank per task)
  std::string partition;       // sbatch --partition; empty: the cluster's default
  std::string account;         // sbatch --account
  std::vector<std::string> sbatch_args;  // more sbatch options, passed as they are
  int max_parallel = 0;  // a foreach's job array runs at most this many at once; 0: any
};

// Where a step's attempts run.
enum class ExecutorKind { kLocal, kSlurm };
std::string_view ToString(ExecutorKind kind);
std::optional<ExecutorKind> ParseExecutorKind(std::string_view text);

enum class OverlapPolicy { kQueue, kSkip };

struct Schedule {
  std::string cron;
  std::string timezone = "UTC";
  bool catchup = false;
  int catchup_limit = 30;
  int max_active_runs = 1;
  OverlapPolicy overlap = OverlapPolicy::kQueue;
  std::optional<std::string> start_date;  // YYYY-MM-DD; no interval starts before it
  SourceMark mark;
};

// The longest step or workflow name, in bytes. A step's name (with ".N" for a foreach item)
// names its folders of logs and scratch files, and file systems allow 255 bytes a name.
inline constexpr std::size_t kMaxNameBytes = 200;

struct Step {
  std::string name;
  std::string op;  // operator name
  std::string description;
  std::vector<std::string> needs;
  Json with = Json::object();   // raw config; strings may hold templates
  std::optional<Json> foreach;  // a list literal, or a template string rendering to a list
  std::string when;             // a template; empty when the step always runs
  RetryPolicy retry;
  std::optional<Millis> timeout;
  bool catch_failure = false;  // `catch: true`
  Resources resources;
  ExecutorKind executor = ExecutorKind::kLocal;
  bool executor_set = false;  // the step's own block names its executor (`--executor` yields)
  // `outputs:` and `artifacts:`, the names a process step declares it produces (checked by
  // validation against what downstream templates read); unset when not declared.
  std::optional<std::vector<std::string>> outputs;
  std::optional<std::vector<std::string>> artifacts;
  // `inputs:`, files whose contents belong to the step's cache key, as written (templates
  // allowed; a relative path is relative to the workflow file's folder).
  std::vector<std::string> inputs;
  bool cache = false;  // `cache: true`: reuse an earlier task with the same cache key
  SourceMark mark;
  YamlNodePtr with_node;  // for diagnostics that point into `with:`
};

struct Workflow {
  std::string name;
  std::string description;
  std::string file;    // the path it was loaded from
  std::string source;  // the YAML text, recorded with every run
  std::vector<ParamSpec> params;
  std::optional<Schedule> schedule;
  std::vector<Step> steps;           // in file order
  std::map<std::string, int> pools;  // named resource pools and their sizes
  std::vector<std::string> plugins;  // shared libraries named by the workflow, resolved paths

  const Step* FindStep(const std::string& step) const;
  int StepIndex(const std::string& step) const;  // -1 when absent
  const ParamSpec* FindParam(const std::string& param) const;
  // Rebuilds the name index behind StepIndex; call after changing `steps`.
  void IndexSteps();

 private:
  std::unordered_map<std::string, int> step_index_;
};

using WorkflowPtr = std::shared_ptr<const Workflow>;

// YAML 1.2 core-schema typing of a node: plain 5 -> int, 2.5 -> float, true -> bool,
// null/~ -> null, quoted values stay strings. Mappings keep key order.
Json YamlToJson(const YamlNode& node);

// Converts a value given for a param (from -p k=v, a default, or a schedule) to the param's
// type; InvalidArgument says what was expected.
Result<Json> CoerceParam(const ParamSpec& spec, const Json& value);

}  // namespace reel
