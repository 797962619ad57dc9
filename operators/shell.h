// shell: runs a command as a child process of the engine.
//
//   train:
//     operator: shell
//     with:
//       command: [python3, train.py, --lr, "{{ item }}"]
//       env: {OMP_NUM_THREADS: 4}
//       cwd: jobs/
//
// `command` is an argv list executed directly, without /bin/sh: each element (template values
// included) reaches the program as exactly one argument, never re-split or interpreted. Only
// with `shell: true` is `command` a string, run as `/bin/sh -c STRING`. Output (stdout and
// stderr) is copied to the attempt's log after a line naming the command; a command that
// succeeds silently leaves no log. Cancel and timeout signal the command's whole process group
// (SIGTERM, then SIGKILL after `kill_grace`). See engine/process.h.
//
// The scheduler runs shell steps on its own loop (ProcessStep); Execute runs one on the
// calling thread.
//
// Outputs: exit_code (128 + N when terminated by signal N, as shells report it).
// A non-zero exit fails the step with the exit status and the last lines of the output.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/process.h"
#include "engine/exec/process_step.h"
#include "reel/operator.h"
#include "reel/status.h"

namespace reel {

class ShellAttempt;

class ShellOperator : public Operator, public ProcessStep {
 public:
  ShellOperator();
  ~ShellOperator() override;
  static OperatorInfo Info();
  Status Execute(Context& ctx) override;

  Result<Process*> Start(Context& ctx) override;
  std::chrono::milliseconds kill_grace() const override;
  Status Finish(Context& ctx, const ProcessResult& result) override;

 private:
  std::unique_ptr<ShellAttempt> attempt_;
};

// The parts of a shell step's config, checked; exposed for tests and for `reel validate`-style
// callers. InvalidArgument messages name the offending key and how to fix it.
struct ShellCommand {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;
  std::string cwd;  // as written; empty: the engine's working directory
  std::chrono::milliseconds kill_grace{5000};
  std::string display;  // how messages name the command
};
// Maps a text to what may be shown of it (secrets redacted); unset: shown as it is.
using Redactor = std::function<std::string(std::string_view)>;
// `redact` is applied to the command before `display` and messages shorten it.
Result<ShellCommand> ParseShellConfig(const Json& config, const Redactor& redact = {});

}  // namespace reel
