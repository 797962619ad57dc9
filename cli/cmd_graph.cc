#include <iostream>

#include "cli/common.h"
#include "engine/workflow/dag.h"

namespace reel::cli {

void AddGraphCommand(CLI::App& app, GlobalOptions& options) {
  auto* cmd = app.add_subcommand("graph", "Draw a workflow's DAG (ascii, Graphviz dot or JSON)");
  auto file = std::make_shared<std::string>();
  auto format = std::make_shared<std::string>("ascii");
  cmd->add_option("FILE", *file, "workflow file")->required();
  cmd->add_option("--format", *format, "ascii, dot or json")
      ->check(CLI::IsMember({"ascii", "dot", "json"}));
  cmd->callback([&options, file, format] {
    options.action = [&options, file, format]() -> int {
      OperatorRegistry registry;
      if (!SetUpRegistry(options, registry)) return kExitUsage;
      auto workflow = LoadWorkflowOrReport(*file, registry);
      if (!workflow) return kExitUsage;
      Dag dag = Dag::FromWorkflow(*workflow);
      if (*format == "dot") {
        std::cout << RenderDot(*workflow, dag);
      } else if (*format == "json") {
        std::cout << RenderJson(*workflow, dag);
      } else {
        std::cout << RenderAscii(*workflow, dag);
      }
      return kExitOk;
    };
  });
}

}  // namespace reel::cli
