// Validation of what templates read before a run: the outputs and artifacts steps publish, the
// types of params fed whole into typed settings, and operators' own checks.
#include <doctest/doctest.h>

#include "engine/workflow/loader.h"
#include "engine/workflow/step_outputs.h"
#include "operators/builtin_operators.h"

using namespace reel;

namespace {

// The diagnostics of loading `yaml` with the built-in operators; empty when it is valid.
std::string Errors(const std::string& yaml) {
  OperatorRegistry registry;
  RegisterBuiltinOperators(registry);
  Diagnostics diags;
  auto wf = LoadWorkflowText("wf.yaml", yaml, registry.Catalog(), diags);
  std::string report = diags.Format();
  CHECK((wf == nullptr) == diags.has_errors());
  return report;
}

const std::string kFeatures = R"(name: t
steps:
  features:
    operator: feature_etl
    with:
      ds: "2026-01-01"
      interactions: {fact: views, user: user_id, item: item_id}
      user_features: []
      item_features: []
)";

}  // namespace

TEST_CASE("steps.X.outputs.KEY must be an output X's operator declares") {
  std::string ok = Errors(kFeatures + R"(  train:
    operator: shell
    needs: [features]
    with: {command: [echo, "{{ steps.features.outputs.interactions }}"]}
)");
  CHECK(ok.find("has no output") == std::string::npos);

  std::string bad = Errors(kFeatures + R"(  train:
    operator: shell
    needs: [features]
    with: {command: [echo, "{{ steps.features.outputs.train }}"]}
)");
  CAPTURE(bad);
  CHECK(bad.find("wf.yaml:13:32: error: step 'features' (operator 'feature_etl') has no output "
                 "'train'") != std::string::npos);
  CHECK(bad.find("did you mean steps.features.outputs.train_rows?") != std::string::npos);
  CHECK(bad.find("'features' publishes outputs: interactions, holdout") != std::string::npos);
}

TEST_CASE("an operator that publishes nothing has no outputs to read") {
  std::string bad = Errors(R"(name: t
steps:
  a: {operator: noop}
  b: {operator: shell, needs: [a], with: {command: [echo, "{{ steps.a.outputs.x }}"]}}
)");
  CHECK(bad.find("step 'a' (operator 'noop') has no output 'x'") != std::string::npos);
  CHECK(bad.find("operator 'noop' publishes no outputs") != std::string::npos);
}

TEST_CASE("a process step publishes exit_code and what it lists, or anything when it lists none") {
  const std::string reader = R"(  b:
    operator: shell
    needs: [a]
    with: {command: [echo, "{{ steps.a.outputs.rows }} {{ steps.a.outputs.exit_code }}"]}
)";
  // Lists nothing: any key.
  CHECK(Errors("name: t\nsteps:\n  a: {operator: shell, with: {command: [true]}}\n" + reader)
            .empty());
  // Lists rows.
  CHECK(Errors("name: t\nsteps:\n  a: {operator: shell, outputs: [rows], with: {command: "
               "[true]}}\n" +
               reader)
            .empty());
  // Lists something else.
  std::string bad = Errors(
      "name: t\nsteps:\n  a: {operator: shell, outputs: [count], with: {command: [true]}}\n" +
      reader);
  CAPTURE(bad);
  CHECK(bad.find("step 'a' (operator 'shell') has no output 'rows'") != std::string::npos);
  CHECK(bad.find("'a' publishes outputs: exit_code, count; declare more under outputs: in step "
                 "'a'") != std::string::npos);
  CHECK(bad.find("no output 'exit_code'") == std::string::npos);
}

TEST_CASE("steps.X.artifacts.NAME must be an artifact X publishes") {
  std::string ok = Errors(kFeatures + R"(  a:
    operator: shell
    needs: [features]
    with: {command: [cat, "{{ steps.features.artifacts['interactions.csv'] }}"]}
)");
  CHECK(ok.find("artifact") == std::string::npos);

  std::string bad = Errors(kFeatures + R"(  a:
    operator: shell
    needs: [features]
    with: {command: [cat, "{{ steps.features.artifacts.interactions }}"]}
)");
  CAPTURE(bad);
  CHECK(bad.find("wf.yaml:13:31: error: step 'features' (operator 'feature_etl') has no artifact "
                 "'interactions'") != std::string::npos);
  CHECK(bad.find("did you mean steps.features.artifacts[\"interactions.csv\"]?") !=
        std::string::npos);

  // A process step: what it lists under artifacts:, or anything when it lists none.
  const std::string reader =
      "  b: {operator: shell, needs: [a], with: {command: [cat, \"{{ steps.a.artifacts.model "
      "}}\"]}}\n";
  CHECK(Errors("name: t\nsteps:\n  a: {operator: shell, with: {command: [true]}}\n" + reader)
            .empty());
  CHECK(Errors("name: t\nsteps:\n  a: {operator: shell, artifacts: [model], with: {command: "
               "[true]}}\n" +
               reader)
            .empty());
  std::string undeclared = Errors(
      "name: t\nsteps:\n  a: {operator: shell, artifacts: [modle], with: {command: [true]}}\n" +
      reader);
  CHECK(undeclared.find("has no artifact 'model'") != std::string::npos);
  CHECK(undeclared.find("did you mean steps.a.artifacts.modle?") != std::string::npos);
}

TEST_CASE("a foreach step's outputs are a list: a subscript stops the check") {
  CHECK(Errors(R"(name: t
steps:
  a: {operator: shell, foreach: [1, 2], with: {command: [echo, "{{ item }}"]}}
  b: {operator: shell, needs: [a], with: {command: [echo, "{{ steps.a.outputs[0].anything }}"]}}
)")
            .empty());
}

TEST_CASE("outputs: and artifacts: belong to operators with open-ended outputs") {
  std::string bad = Errors(R"(name: t
steps:
  a: {operator: noop, outputs: [x]}
)");
  CHECK(bad.find("wf.yaml:3:23: error: step 'a' lists outputs:, but operator 'noop' publishes a "
                 "fixed set") != std::string::npos);
}

TEST_CASE("a typed setting fed a whole param of another type is an error") {
  const std::string head = R"(name: t
params:
  name: {type: string, default: x}
  rate: {type: float, default: 0.1}
  count: {type: int, default: 2}
  flag: {type: bool, default: true}
steps:
)";
  std::string bad = Errors(head + R"(  a: {operator: sleep, with: {seconds: "{{ params.name }}"}}
)");
  CAPTURE(bad);
  CHECK(bad.find("wf.yaml:8:40: error: setting 'seconds' of operator 'sleep' must be float, but "
                 "param 'name' it reads is string") != std::string::npos);
  // An int param fits a float setting; a float param fits it too.
  CHECK(Errors(head + "  a: {operator: sleep, with: {seconds: \"{{ params.count }}\"}}\n").empty());
  CHECK(Errors(head + "  a: {operator: sleep, with: {seconds: \"{{ params.rate }}\"}}\n").empty());
  CHECK(Errors(head + "  a: {operator: sleep, with: {seconds: \"{{params.flag}}\"}}\n")
            .find("param 'flag' it reads is bool") != std::string::npos);
  // A template that converts, or mixes text, is judged after rendering only.
  CHECK(Errors(head + "  a: {operator: sleep, with: {seconds: \"{{ params.name | float }}\"}}\n")
            .empty());
  // An int setting does not take a float param.
  CHECK(Errors(head +
               "  a: {operator: torch_train, with: {interactions: x.csv, epochs: \"{{ params.rate "
               "}}\"}}\n")
            .find("setting 'epochs' of operator 'torch_train' must be int, but param 'rate' it "
                  "reads is float") != std::string::npos);
}

TEST_CASE("foreach over a param must name a list param") {
  std::string bad = Errors(R"(name: t
params:
  lrs: {type: string, default: "0.1"}
  grid: {type: list, default: [1, 2]}
steps:
  a: {operator: shell, foreach: "{{ params.lrs }}", with: {command: [echo, "{{ item }}"]}}
)");
  CHECK(bad.find("wf.yaml:6:33: error: foreach of step 'a' reads param 'lrs', which is string, "
                 "not a list") != std::string::npos);
  CHECK(Errors(R"(name: t
params:
  grid: {type: list, default: [1, 2]}
steps:
  a: {operator: shell, foreach: "{{ params.grid }}", with: {command: [echo, "{{ item }}"]}}
)")
            .empty());
}

TEST_CASE("data_quality rejects an unknown check at validation, pointing at it") {
  std::string bad = Errors(R"(name: t
steps:
  q:
    operator: data_quality
    with:
      table: views
      ds: "2026-01-01"
      checks:
        - {check: row_count, min: 1}
        - {check: null_rte, column: user_id, max: 0}
        - {check: range, column: x, min: 0, maxx: 1}
        - {check: unique, column: x, severity: fatal}
        - {check: "{{ params.kind | default('row_count') }}", min: 1}
)");
  CAPTURE(bad);
  CHECK(bad.find("wf.yaml:10:19: error: data_quality: unknown check 'null_rte'") !=
        std::string::npos);
  CHECK(bad.find("did you mean 'null_rate'? checks: row_count, null_rate") != std::string::npos);
  CHECK(bad.find("wf.yaml:11:51: error: data_quality: check 'range': unknown key 'maxx'") !=
        std::string::npos);
  CHECK(bad.find("wf.yaml:12:48: error: data_quality: check 'unique': severity is") !=
        std::string::npos);
  CHECK(bad.find("check 'row_count'") == std::string::npos);
}

TEST_CASE("KnownOutputs and KnownArtifacts") {
  OperatorInfo closed{.name = "c"};
  closed.declares_outputs = true;
  closed.outputs = {{.name = "x"}};
  closed.artifacts = {"f.csv"};
  OperatorInfo open = closed;
  open.open_outputs = true;
  OperatorInfo undeclared{.name = "u"};
  Step step;
  CHECK(KnownOutputs(step, &closed) == std::vector<std::string>{"x"});
  CHECK(KnownArtifacts(step, &closed) == std::vector<std::string>{"f.csv"});
  CHECK_FALSE(KnownOutputs(step, &undeclared));
  CHECK_FALSE(KnownOutputs(step, nullptr));
  CHECK_FALSE(KnownOutputs(step, &open));
  step.outputs = std::vector<std::string>{"y", "x"};
  step.artifacts = std::vector<std::string>{};
  CHECK(KnownOutputs(step, &open) == std::vector<std::string>{"x", "y"});
  CHECK(KnownArtifacts(step, &open) == std::vector<std::string>{"f.csv"});
}
