// noop: does nothing and succeeds. Useful for joins, tests and benchmarks.
#pragma once

#include "reel/operator.h"

namespace reel {

class NoopOperator : public Operator {
 public:
  static OperatorInfo Info();
  Status Execute(Context& ctx) override;
};

}  // namespace reel
