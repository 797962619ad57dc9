#include "engine/workflow/step_outputs.h"

#include <algorithm>

namespace reel {
namespace {

std::optional<std::vector<std::string>> Known(
    const OperatorInfo* info, std::vector<std::string> declared,
    const std::optional<std::vector<std::string>>& listed_by_step) {
  if (!info || !info->declares_outputs) return std::nullopt;
  if (info->open_outputs) {
    if (!listed_by_step) return std::nullopt;
    for (const auto& name : *listed_by_step) {
      if (std::find(declared.begin(), declared.end(), name) == declared.end()) {
        declared.push_back(name);
      }
    }
  }
  return declared;
}

}  // namespace

std::optional<std::vector<std::string>> KnownOutputs(const Step& step, const OperatorInfo* info) {
  std::vector<std::string> names;
  if (info) {
    for (const auto& field : info->outputs) names.push_back(field.name);
  }
  return Known(info, std::move(names), step.outputs);
}

std::optional<std::vector<std::string>> KnownArtifacts(const Step& step, const OperatorInfo* info) {
  return Known(info, info ? info->artifacts : std::vector<std::string>{}, step.artifacts);
}

}  // namespace reel
