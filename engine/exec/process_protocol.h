// The process-step protocol: how a step that runs a child process (shell, python) exchanges
// values, files and metrics with the steps around it, in any language.
//
// Besides its configured environment, the child gets:
//   REEL_RUN_ID, REEL_WORKFLOW, REEL_STEP, REEL_ATTEMPT, REEL_LOGICAL_DATE, REEL_HOME, and
//   REEL_ITEM_INDEX in a foreach step;
//   REEL_INPUTS         a JSON file: the item, and each upstream step's outputs and the
//                       read-only local paths of its artifacts (params reach the step through
//                       its settings, args or env, so that its cache key sees them);
//   REEL_OUTPUTS        a path: a JSON object written there becomes the step's outputs (beside
//                       exit_code);
//   REEL_ARTIFACTS_DIR  an empty folder: each top-level entry left there (a file, or a folder
//                       stored as one artifact) becomes an artifact named after it;
//   REEL_METRICS        a path for JSON lines {"key": "loss", "value": 0.3, "step": 2} ("step"
//                       optional: an epoch or iteration), recorded as the run's metrics.
//
// The channels live in a fresh folder per attempt under the task's work folder. They are read
// only when the child succeeded, and published all at once: an attempt that fails, is killed
// or leaves a malformed channel publishes nothing.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "reel/operator.h"
#include "reel/status.h"

namespace reel {

// Bounds on what a child may hand back.
inline constexpr std::uintmax_t kMaxStepOutputsBytes = 1 << 20;      // REEL_OUTPUTS
inline constexpr int kMaxStepOutputsDepth = 64;                      // nesting of its values
inline constexpr std::uintmax_t kMaxStepMetricsBytes = 64ull << 20;  // REEL_METRICS
inline constexpr std::size_t kMaxStepMetricKeyBytes = 200;

struct StepChannels {
  std::filesystem::path dir;            // <work_dir>/attempt-N, fresh for each attempt
  std::filesystem::path inputs;         // dir/inputs.json
  std::filesystem::path outputs;        // dir/outputs.json
  std::filesystem::path artifacts_dir;  // dir/artifacts
  std::filesystem::path metrics;        // dir/metrics.jsonl
};

// Creates the attempt's channel folder (emptying what an earlier try left) and writes its
// inputs file.
Result<StepChannels> PrepareStepChannels(Context& ctx);

// The protocol's variables for the child.
std::map<std::string, std::string> StepEnvironment(const Context& ctx,
                                                   const StepChannels& channels);

// After the child succeeded: reads the channels, checks them (an error names the step, the
// file and what is wrong) and publishes outputs, artifacts and metrics through `ctx`. On error
// nothing but artifacts already stored is reported, and the attempt is to fail (the engine
// records no artifact of a failed attempt).
Status PublishStepChannels(Context& ctx, const StepChannels& channels);

}  // namespace reel
