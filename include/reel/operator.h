// The operator SDK: everything an operator, built in or shipped as a plugin, needs.
//
// An operator is a class with static metadata (OperatorInfo: name, description, config schema,
// example) and Execute(Context&). The engine renders the step's `with:` block, validates it
// against the schema before anything runs, and calls Execute on a worker thread. Execute
// returns a Status; any exception it throws is caught by the executor and becomes a failed
// attempt carrying the exception's message. Retries, timeouts, catch, when and foreach are
// policies of the scheduler and never the operator's business.
//
// Threading: one Operator object serves one attempt. Context methods may be called from the
// thread running Execute and from threads it starts, until Execute returns.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "reel/artifact.h"
#include "reel/cancellation.h"
#include "reel/status.h"

namespace reel {

using Json = nlohmann::json;

// The ABI version a plugin must have been compiled against. Bumped on any change to this
// header that changes layout or virtual tables.
inline constexpr int kOperatorApiVersion = 4;

// The type of one `with:` key, checked by validation before a run starts. A value that is a
// template (`{{ ... }}`) is checked after rendering.
enum class ConfigType { kAny, kString, kInt, kFloat, kBool, kList, kMap, kDuration };
inline const char* ConfigTypeName(ConfigType type) {
  switch (type) {
    case ConfigType::kAny:
      return "any";
    case ConfigType::kString:
      return "string";
    case ConfigType::kInt:
      return "int";
    case ConfigType::kFloat:
      return "float";
    case ConfigType::kBool:
      return "bool";
    case ConfigType::kList:
      return "list";
    case ConfigType::kMap:
      return "map";
    case ConfigType::kDuration:
      return "duration";
  }
  return "any";
}

struct ConfigField {
  std::string name;
  ConfigType type = ConfigType::kAny;
  bool required = false;
  Json default_value = nullptr;  // null when none
  std::string description;
};

struct OperatorInfo {
  std::string name;
  std::string description;
  std::vector<ConfigField> config;
  bool allow_unknown_keys = false;  // when true, keys outside `config` are passed through
  std::string example;              // a YAML step, shown by `reel operators NAME`
  // An operator that returns within microseconds and never blocks (no I/O, no waiting) may
  // run on the scheduler's own thread instead of being handed to a worker: it takes no worker
  // slot or resources, and `timeout` does not apply to it. Everything else leaves this false.
  bool runs_inline = false;
};

enum class LogLevel { kDebug, kInfo, kWarn, kError };

class Context {
 public:
  virtual ~Context() = default;

  // The rendered `with:` block: a JSON object, template values substituted, defaults applied.
  virtual const Json& config() const = 0;
  virtual const Json& params() const = 0;
  // Outputs of upstream steps: {"step": {...outputs...}}; a foreach step's outputs are a list.
  virtual const Json& upstream_outputs() const = 0;

  virtual const std::string& run_id() const = 0;
  virtual const std::string& workflow_name() const = 0;
  virtual const std::string& step_name() const = 0;
  virtual int attempt() const = 0;  // 1-based
  // The run's logical date as reel.db records it: YYYY-MM-DD, or for a schedule that fires
  // several times a day the interval start as a UTC instant, "2026-11-29T06:00:00Z".
  virtual const std::string& logical_date() const = 0;
  virtual const Json& item() const = 0;  // the foreach item, null outside foreach

  // Where the engine keeps its state; operators with stores of their own live under it.
  virtual std::filesystem::path home() const = 0;
  // A scratch folder private to this task, kept across retries of the same task (checkpoints).
  virtual std::filesystem::path work_dir() const = 0;
  // The attempt's log file. It exists once something has been written to the log; a process
  // started by the operator may append to it directly, though WriteOutput is better.
  virtual std::filesystem::path log_path() const = 0;

  // Publishes a small JSON value under `key` in this task's outputs.
  virtual void SetOutput(const std::string& key, Json value) = 0;

  // Copies `file` into the artifact store (atomically, deduplicated by content). A folder is
  // stored whole, as one artifact whose local path is a read-only folder.
  virtual Result<ArtifactRef> PutArtifact(const std::string& name,
                                          const std::filesystem::path& file) = 0;
  // The local path of an artifact given its uri ("sha256:<hex>"). The file is read-only.
  virtual Result<std::filesystem::path> ArtifactPath(const std::string& uri) const = 0;

  // Records a metric for this task; `step` orders a series (an epoch), -1 when single-valued.
  virtual void LogMetric(const std::string& key, double value, std::int64_t step = -1) = 0;
  // Records an audit event for this run ("gate.decision", "model.promoted", ...).
  virtual void RecordEvent(const std::string& kind, const Json& payload) = 0;

  // Writes a line to the attempt's log (secrets are redacted by the engine).
  virtual void Log(LogLevel level, std::string_view message) = 0;
  // Appends raw bytes, such as a child process's output, to the attempt's log, with secrets
  // redacted even when one is split across calls (the last few bytes may be held back until
  // the next call, the next Log line or the end of the attempt).
  virtual void WriteOutput(std::string_view bytes) = 0;

  virtual const CancellationToken& cancellation() const = 0;

  // Convenience wrappers over Log.
  template <typename... Args>
  void Info(fmt::format_string<Args...> f, Args&&... args) {
    Log(LogLevel::kInfo, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void Warn(fmt::format_string<Args...> f, Args&&... args) {
    Log(LogLevel::kWarn, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void Error(fmt::format_string<Args...> f, Args&&... args) {
    Log(LogLevel::kError, fmt::format(f, std::forward<Args>(args)...));
  }
};

class Operator {
 public:
  virtual ~Operator() = default;
  // Runs one attempt. A non-OK Status (or an exception) fails the attempt.
  virtual Status Execute(Context& ctx) = 0;
};

// How the registry knows an operator: its metadata and a factory.
struct OperatorDef {
  OperatorInfo info;
  std::function<std::unique_ptr<Operator>()> create;
};

template <typename T>
OperatorDef MakeOperatorDef() {
  return OperatorDef{T::Info(), [] { return std::unique_ptr<Operator>(new T()); }};
}

// Where a plugin registers its operators: reel passes one to reel_register_operators. Register
// fails with AlreadyExists when the name is taken. Virtual, so that a plugin reaches reel
// through the vtable without linking against it.
class OperatorRegistrar {
 public:
  virtual Status Register(OperatorDef def) = 0;

 protected:
  ~OperatorRegistrar() = default;
};

}  // namespace reel

// A plugin is a shared library exporting these two C symbols:
//
//   extern "C" int reel_operator_api_version(void) { return reel::kOperatorApiVersion; }
//   extern "C" void reel_register_operators(reel::OperatorRegistrar* registrar) {
//     registrar->Register(reel::MakeOperatorDef<MyOperator>());
//   }
//
// REEL_PLUGIN_ENTRY_POINTS(registrar) writes both; the body that follows it registers.
#define REEL_PLUGIN_ENTRY_POINTS(registrar_var)                                       \
  extern "C" __attribute__((visibility("default"))) int reel_operator_api_version() { \
    return ::reel::kOperatorApiVersion;                                               \
  }                                                                                   \
  extern "C" __attribute__((visibility("default"))) void reel_register_operators(     \
      ::reel::OperatorRegistrar* registrar_var)
