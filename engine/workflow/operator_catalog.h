// The engine's view of the operators it can run, as the loader validates against it and the
// scheduler creates them. engine/exec/operator_registry.h builds one from its registry.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "reel/operator.h"

namespace reel {

// What the engine knows of operators: how to find one's metadata, every known name, and how
// to make an instance for one attempt (nullptr for an unknown name).
struct OperatorCatalog {
  std::function<const OperatorInfo*(const std::string&)> find;
  std::vector<std::string> names;
  std::function<std::unique_ptr<Operator>(const std::string&)> create;
  // What identifies an operator's code, for cache keys: "reel VERSION" for a built-in,
  // "plugin sha256:HEX" (the shared library's digest) for a plugin's. Unset: "".
  std::function<std::string(const std::string&)> code_version;
};

}  // namespace reel
