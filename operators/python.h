// python: runs a Python script (or module) as a step, under the process-step protocol.
//
//   features:
//     operator: python
//     with:
//       script: steps/features.py        # relative to the workflow file's folder
//       args: [--days, "{{ params.days }}"]
//       interpreter: python3             # the default; a path or a name found on PATH
//       env: {OMP_NUM_THREADS: 2}
//
// `module: pkg.mod` runs `python -m pkg.mod` instead, with the workflow's folder on
// PYTHONPATH. The script can `import reel_step` (shipped with reel, standard library only) to
// read its inputs and publish outputs, artifacts and metrics; see docs/python.md. Output,
// cancel and timeout behave as for shell (operators/command_step.h).
//
// Outputs: exit_code, and the keys the script publishes.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "operators/command_step.h"
#include "reel/operator.h"
#include "reel/status.h"

namespace reel {

// The source of the reel_step helper module, as shipped with this build.
std::string_view ReelStepModuleSource();

class PythonOperator : public CommandStep, public RunsCodeFiles {
 public:
  static OperatorInfo Info();
  // The script, for cache keys.
  std::vector<std::filesystem::path> CodeFiles(
      const Json& config, const std::filesystem::path& workflow_dir) const override;

 protected:
  Result<ShellCommand> Command(Context& ctx, const Redactor& redact) override;
};

}  // namespace reel
