// What validation knows a step publishes before it runs: the output keys and artifact names
// its operator declares (OperatorInfo::outputs, ::artifacts), and for an operator with
// open-ended outputs (a process step), the names the step lists under `outputs:` and
// `artifacts:`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/workflow/workflow.h"
#include "reel/operator.h"

namespace reel {

// The output keys `step` may publish; nullopt when any key may appear (an operator that
// declares nothing, an unknown operator, a process step that lists no `outputs:`).
std::optional<std::vector<std::string>> KnownOutputs(const Step& step, const OperatorInfo* info);

// The artifact names `step` may publish; nullopt when any name may appear.
std::optional<std::vector<std::string>> KnownArtifacts(const Step& step, const OperatorInfo* info);

}  // namespace reel
