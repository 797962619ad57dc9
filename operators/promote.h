// promote: registers a model file as a new version in the model registry and points an alias
// (default `production`) at it, exactly once per run (models/registry.h).
//
//   promote:
//     operator: promote
//     needs: [gate]
//     when: "{{ steps.gate.outputs.passed }}"
//     with:
//       model: "{{ steps.train.outputs.model }}"
//       metrics: "{{ steps.evaluate.outputs.candidate }}"
//
// `model` is an artifact uri, or the path of a local model file, which is first copied into
// the artifact store (a way to register a model trained outside reel). The file must be a
// valid model file. `metrics` and `trained_on` default to those in the model file's header.
//
// A retried attempt or a resumed run does not promote again: the registry returns the earlier
// result and the outputs say so (`replayed: true`).
//
// Outputs: model_name, version (where the alias points now), registered_version,
// previous_version (null when the alias was unset), promoted (false when the alias already
// pointed at this version), replayed, alias, model (the artifact uri). Event: model.promoted.
#pragma once

#include "reel/operator.h"

namespace reel {

class PromoteOperator : public Operator {
 public:
  static OperatorInfo Info();
  Status Execute(Context& ctx) override;
};

}  // namespace reel
