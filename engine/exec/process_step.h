// A step whose whole work is one child process. The scheduler runs such a step without a
// worker thread: it spawns the process on its loop and waits for its exit and output there,
// through Asio, along with every other running step. An operator offers this by implementing
// ProcessStep beside Operator; Execute must still work on its own (it is used where the loop
// cannot watch processes).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/process.h"
#include "engine/template/template.h"  // kSecretEnvPrefix
#include "reel/operator.h"
#include "reel/status.h"

namespace reel {

class ProcessStep {
 public:
  virtual ~ProcessStep() = default;
  // Spawns the attempt's process; the returned Process stays owned by this object. An error
  // fails the attempt. Must not block beyond the spawn itself.
  virtual Result<Process*> Start(Context& ctx) = 0;
  // On cancel or timeout: how long after SIGTERM the group gets SIGKILL.
  virtual std::chrono::milliseconds kill_grace() const = 0;
  // After the process was reaped and its output read: the attempt's outcome.
  virtual Status Finish(Context& ctx, const ProcessResult& result) = 0;
};

// What the engine knows of an attempt's secrets, for an operator that starts processes: the
// engine's Context for an attempt (TaskContext) implements it beside Context, and
// AttemptSecretsOf finds it. A secret may appear nowhere but in the step's own process: every
// text the operator writes or returns is redacted, and the child's environment holds only the
// REEL_SECRET_* variables the step references.
class AttemptSecrets {
 public:
  virtual ~AttemptSecrets() = default;
  // `text` with every rendering of a secret value (as is, shell-quoted, JSON-escaped)
  // replaced by ***. Redact before shortening or quoting: a cut secret no longer matches.
  virtual std::string Redact(std::string_view text) const = 0;
  // The variables of the engine's environment named REEL_SECRET_* that the step's templates
  // reference (through secrets.NAME or env.REEL_SECRET_NAME): the only ones a child inherits.
  virtual const std::set<std::string>& secret_variables() const = 0;
};

// An operator that runs code from files named by its config (a script): their contents belong
// to the cache key of its steps (see engine/exec/scheduler.h).
class RunsCodeFiles {
 public:
  virtual ~RunsCodeFiles() = default;
  // The files `config` (rendered) makes it run, resolved against `workflow_dir`.
  virtual std::vector<std::filesystem::path> CodeFiles(
      const Json& config, const std::filesystem::path& workflow_dir) const = 0;
};

// What the engine knows of an attempt beyond the SDK's Context, for an operator that starts a
// process under the process-step protocol (engine/exec/process_protocol.h). TaskContext
// implements it; AttemptInputsOf finds it.
class AttemptInputs {
 public:
  virtual ~AttemptInputs() = default;
  // The task's index in its foreach list; -1 outside foreach.
  virtual int64_t item_index() const = 0;
  // The local paths of the upstream steps' artifacts: {"step": {"name": "/path"}}, with a list
  // of such objects, one per item, for a foreach step.
  virtual const Json& upstream_artifacts() const = 0;
  // The folder of the workflow file, against which a step's relative script paths resolve;
  // empty when unknown.
  virtual const std::filesystem::path& workflow_dir() const = 0;
  // The step's `outputs:` and `artifacts:`: names its process must produce; null when the step
  // declares none.
  virtual const std::vector<std::string>* declared_outputs() const = 0;
  virtual const std::vector<std::string>* declared_artifacts() const = 0;
};

inline const AttemptInputs* AttemptInputsOf(const Context& ctx) {
  return dynamic_cast<const AttemptInputs*>(&ctx);
}

// The AttemptSecrets of `ctx`, or null for a Context that is not the engine's (it knows no
// secrets, so a child then inherits no REEL_SECRET_* variable at all).
inline const AttemptSecrets* AttemptSecretsOf(const Context& ctx) {
  return dynamic_cast<const AttemptSecrets*>(&ctx);
}

}  // namespace reel
