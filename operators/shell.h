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
// with `shell: true` is `command` a string, run as `/bin/sh -c STRING`. The command runs under
// the process-step protocol (engine/exec/process_protocol.h); see operators/command_step.h for
// its log, cancel and timeout.
//
// Outputs: exit_code (128 + N when terminated by signal N, as shells report it), and the keys
// of the JSON object the command writes to $REEL_OUTPUTS. A non-zero exit fails the step with
// the exit status and the last lines of the output.
#pragma once

#include "operators/command_step.h"
#include "reel/operator.h"
#include "reel/status.h"

namespace reel {

class ShellOperator : public CommandStep {
 public:
  static OperatorInfo Info();

 protected:
  Result<ShellCommand> Command(Context& ctx, const Redactor& redact) override;
};

// The command of a shell step's config, checked; exposed for tests. `redact` is applied to the
// command before `display` and messages shorten it.
Result<ShellCommand> ParseShellConfig(const Json& config, const Redactor& redact = {});

}  // namespace reel
