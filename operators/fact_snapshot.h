// fact_snapshot: copies a CSV or JSON Lines source into the fact store, one immutable
// partition per UTC day (facts/fact_store.h).
//
// One pass over the source: rows are parsed, typed and routed to their day (event tables: the
// day of the event time; state tables: `ds`, or with from/to the day of the timestamp column)
// through DayStaging, so memory stays bounded whatever the source size. Bad rows are counted
// and logged with line numbers; more than `max_bad_rows` fails the step before anything is
// written. Then each day of [ds] or [from, to] is written as one partition (empty days
// included, so that a loaded day is distinguishable from a missing one): unchanged content is
// a no-op, different content a Conflict unless `overwrite: true`.
#pragma once

#include "reel/operator.h"

namespace reel {

class FactSnapshotOperator : public Operator {
 public:
  static OperatorInfo Info();
  Status Execute(Context& ctx) override;
};

}  // namespace reel
