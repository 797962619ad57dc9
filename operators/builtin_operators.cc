// The one list of built-in operators. A static link keeps every operator named here; nothing
// registers itself behind the linker's back.
#include "operators/builtin_operators.h"

#include "operators/data_quality.h"
#include "operators/evaluate.h"
#include "operators/fact_snapshot.h"
#include "operators/feature_etl.h"
#include "operators/metric_gate.h"
#include "operators/noop.h"
#include "operators/promote.h"
#include "operators/python.h"
#include "operators/shell.h"
#include "operators/sleep.h"
#include "operators/torch_train.h"

namespace reel {

void RegisterBuiltinOperators(OperatorRegistry& registry) {
  (void)registry.Register(MakeOperatorDef<DataQualityOperator>());
  (void)registry.Register(MakeOperatorDef<EvaluateOperator>());
  (void)registry.Register(MakeOperatorDef<FactSnapshotOperator>());
  (void)registry.Register(MakeOperatorDef<FeatureEtlOperator>());
  (void)registry.Register(MakeOperatorDef<MetricGateOperator>());
  (void)registry.Register(MakeOperatorDef<NoopOperator>());
  (void)registry.Register(MakeOperatorDef<PromoteOperator>());
  (void)registry.Register(MakeOperatorDef<PythonOperator>());
  (void)registry.Register(MakeOperatorDef<ShellOperator>());
  (void)registry.Register(MakeOperatorDef<SleepOperator>());
  (void)registry.Register(MakeOperatorDef<TorchTrainOperator>());
}

}  // namespace reel
