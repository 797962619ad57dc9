// The one list of built-in operators. A static link keeps every operator named here; nothing
// registers itself behind the linker's back.
#include "operators/noop.h"
#include "operators/registry.h"
#include "operators/sleep.h"

namespace reel {

void RegisterBuiltinOperators(OperatorRegistry& registry) {
  (void)registry.Register(MakeOperatorDef<NoopOperator>());
  (void)registry.Register(MakeOperatorDef<SleepOperator>());
}

}  // namespace reel
