#include <iostream>

#include "cli/commands.h"
#include "operators/registry.h"

namespace reel::cli {

void AddOperatorsCommand(CLI::App& app, GlobalOptions& options) {
  auto* cmd = app.add_subcommand("operators", "List registered operators, or show one");
  auto name = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("NAME", *name, "operator to show in full");
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([&options, name, json] {
    options.action = [&options, name, json]() -> int {
      (void)options;
      OperatorRegistry registry;
      RegisterBuiltinOperators(registry);
      std::cout << (*json ? "[]" : "") << "\n";
      return kExitOk;
    };
  });
}

}  // namespace reel::cli
