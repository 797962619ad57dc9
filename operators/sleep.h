// sleep: waits `seconds` (a float), waking at once when the attempt is cancelled.
#pragma once

#include "reel/operator.h"

namespace reel {

class SleepOperator : public Operator {
 public:
  static OperatorInfo Info();
  Status Execute(Context& ctx) override;
};

}  // namespace reel
