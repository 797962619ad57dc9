// What the operators that run one command (shell, python) share: the parsed command, its
// attempt (spawn, log, exit), and the process-step protocol (engine/exec/process_protocol.h)
// through which the command hands values, files and metrics to the steps after it.
//
// Output (stdout and stderr) is copied to the attempt's log after a line naming the command;
// a command that succeeds silently leaves no log. Cancel and timeout signal the command's
// whole process group (SIGTERM, then SIGKILL after `kill_grace`). The scheduler runs such
// steps on its own loop (ProcessStep); Execute runs one on the calling thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/process.h"
#include "engine/exec/process_step.h"
#include "reel/operator.h"
#include "reel/status.h"

namespace reel {

// A command to run, checked. InvalidArgument messages name the offending key and how to fix it.
struct ShellCommand {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::string cwd;  // as written; empty: the engine's working directory
  std::chrono::milliseconds kill_grace{5000};
  std::string display;  // how messages name the command
};

// Maps a text to what may be shown of it (secrets redacted); unset: shown as it is.
using Redactor = std::function<std::string(std::string_view)>;

// `env:` of operator `op` (a mapping of names to strings or numbers); empty when null.
Result<std::map<std::string, std::string>> ParseCommandEnv(std::string_view op, const Json& env);
// `kill_grace:` of operator `op` (a duration, or seconds); 5 s when null.
Result<std::chrono::milliseconds> ParseKillGrace(std::string_view op, const Json& value);
// `text` cut to what a message shows of a command.
std::string ShortenForDisplay(std::string text);

class CommandAttempt;

// An operator whose whole work is one command. Subclasses say which command to run.
class CommandStep : public Operator, public ProcessStep {
 public:
  CommandStep();
  ~CommandStep() override;
  Status Execute(Context& ctx) override;

  Result<Process*> Start(Context& ctx) override;
  std::chrono::milliseconds kill_grace() const override;
  Status Finish(Context& ctx, const ProcessResult& result) override;

 protected:
  // The command for this attempt; `redact` is to be applied to anything it shows.
  virtual Result<ShellCommand> Command(Context& ctx, const Redactor& redact) = 0;

 private:
  std::unique_ptr<CommandAttempt> attempt_;
};

}  // namespace reel
