// metric_gate: decides, from an evaluate step's outputs, whether a candidate model may be
// promoted.
//
//   gate:
//     operator: metric_gate
//     needs: [evaluate]
//     with:
//       evaluation: "{{ steps.evaluate.outputs }}"
//       rules:
//         - {metric: recall_at_10, min_improvement_over_production: 0.0,
//            min_improvement_over_baseline: 0.05, floor: 0.01}
//
// Each rule names a metric of the evaluation's `candidate` object and any of three checks:
//   floor                            candidate >= floor
//   min_improvement_over_production  (candidate - production) / production >= value; passes
//                                    with "no production model yet" when production is null
//   min_improvement_over_baseline    (candidate - baseline) / baseline >= value
// A reference of 0 counts as an infinite improvement when the candidate is above 0, and as
// no improvement when it is 0 too.
//
// Outputs: `passed` (every check passed), `reason` (one line per check with the numbers),
// `checks` (the same as objects). Records the event `gate.decision`. A blocked gate succeeds
// with passed=false (the promote step says `when: "{{ steps.gate.outputs.passed }}"`) unless
// `fail_on_block: true`, which fails the step. A malformed evaluation or rule always fails it.
#pragma once

#include "reel/operator.h"

namespace reel {

class MetricGateOperator : public Operator {
 public:
  static OperatorInfo Info();
  Status Execute(Context& ctx) override;
};

}  // namespace reel
