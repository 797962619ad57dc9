// feature_etl: point-in-time features and training data from the fact store, as of `ds`.
//
// For a run with logical date ds (T = ds 00:00 UTC), with H = holdout_days, W = train_days and
// the cutoff C = T - H days:
//   interactions  rows of the interactions table with event time in [C - W days, C)
//   holdout       rows with event time in [C, T)
//   features      aggregations over facts visible at C (as_of(C)), each over its own window
//                 [C - window_days, C) (all history before C when window_days is 0)
// so the run for day D never reads anything at or after D, and neither the training data nor
// the features see the holdout: facts added later for days >= D never change its outputs.
//
// Artifacts (CSV with a header, rows in a deterministic order, so equal inputs give
// byte-identical files):
//   interactions, holdout   user_id,item_id,weight,ts   (weight: the `weight` column, 1 when
//                           unset or null; ts: event time in epoch seconds), in fact order;
//                           rows with a null user or item, or failing `filter`, are skipped
//   user_features           user_id,<user feature...>   one row per user of `interactions`
//   item_features           item_id,<item feature...>   one row per item of `interactions`
// Feature rows are ordered by id (numerically when every id is an integer); an entity with no
// matching fact gets 0 (see features/spec.h for the aggregations). Outputs: the four
// artifact uris, train_rows, holdout_rows, users, items, train_from, cutoff, rows_scanned and
// definitions_hash (the SHA-256 of the definitions, also recorded as a features.definitions
// event). Metrics: train_rows, holdout_rows and, per feature,
// feature.<entity>.<name>.{mean,min,max,coverage}.
//
// Errors (before anything is read): an unknown fact table (listing the known ones), a missing
// column (listing the table's columns), a bad aggregation, window or filter. No training
// interaction in the window fails the step.
#pragma once

#include "reel/operator.h"

namespace reel {

class FeatureEtlOperator : public Operator {
 public:
  static OperatorInfo Info();
  Status Execute(Context& ctx) override;
};

}  // namespace reel
