#include "operators/noop.h"

namespace reel {

OperatorInfo NoopOperator::Info() {
  OperatorInfo info;
  info.name = "noop";
  info.description = "Does nothing and succeeds; a join point, a placeholder or a benchmark step.";
  info.example = "join:\n  operator: noop\n  needs: [a, b]\n";
  info.runs_inline = true;
  info.declares_outputs = true;
  return info;
}

Status NoopOperator::Execute(Context&) { return Status::Ok(); }

}  // namespace reel
