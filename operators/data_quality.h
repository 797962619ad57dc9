// data_quality: declarative checks on a fact table or on a CSV dataset artifact.
//
// Subject: `table` with `ds` checks the table's latest partition before ds (scope: partition,
// the default) or every row visible as of ds (scope: as_of); nothing at or after ds is read.
// `dataset` (an artifact uri or a path) checks a CSV file with a header (an empty field is
// null). Checks:
//   row_count       {min, max}                rows checked
//   null_rate       {column, max: 0}          share of null values
//   unique          {column | columns}        duplicate rows (of the columns' values)
//   range           {column, min, max}        non-null values outside [min, max] or not numbers
//   allowed_values  {column, values}          non-null values outside the list
//   freshness       {max_age: 1d}             ds 00:00 minus the newest event time (a state
//                                             table: the end of its latest partition's day)
//   volume_change   {max_change: 0.5}         |rows(latest) / rows(partition before) - 1|
// unique, range and allowed_values pass with up to `max_violations` (0) violating rows;
// freshness and volume_change need a fact table. Each check logs metrics `dq.<label>` (its
// value) and `dq.<label>.passed`, where label is "kind(columns)". A failing check of severity
// `error` (the default) fails the step with a report listing every failure (and warning); a
// failing `warn` check is only logged. Outputs: results, rows, passed, failures, warnings.
#pragma once

#include "reel/operator.h"

namespace reel {

class DataQualityOperator : public Operator {
 public:
  static OperatorInfo Info();
  Status Execute(Context& ctx) override;
};

}  // namespace reel
