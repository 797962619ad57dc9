// evaluate: offline ranking quality of a candidate model, next to the model in production and
// a popularity baseline, on the same held-out interactions.
//
// For every evaluated user (one with at least one held-out item not already seen in
// training) each ranker orders the items the user has not interacted with in training, and
// the first K are scored against the held-out items (models/ranking_metrics.h):
//
//   candidate   the `model` file: items by dot(user vector, item vector)
//   production  the version the registry's `production` alias of `model_name` points at
//               (skipped, reported as null, when there is none)
//   baseline    items by their number of training interactions (ties by item id)
//
// A user without a vector in a model gets the popularity ranking for that model (counted in
// `users_without_vector`); items a model does not know are never recommended by it. Coverage
// is measured against one catalog for all three: every item of the training interactions and
// of both models.
//
// Metrics: candidate.recall_at_K, candidate.ndcg_at_K, candidate.coverage_at_K and the same
// for production.* and baseline.*. Outputs: {candidate: {...}, production: {...} | null,
// baseline: {...}, k, users, model_name, production_version}.
#pragma once

#include "reel/operator.h"

namespace reel {

class EvaluateOperator : public Operator {
 public:
  static OperatorInfo Info();
  Status Execute(Context& ctx) override;
};

}  // namespace reel
