// The built-in operators.
#pragma once

#include "engine/exec/operator_registry.h"

namespace reel {

// Registers every built-in operator; the one list of them lives in builtin_operators.cc.
void RegisterBuiltinOperators(OperatorRegistry& registry);

}  // namespace reel
