#include <iostream>

#include "cli/common.h"

namespace reel::cli {

void AddValidateCommand(CLI::App& app, GlobalOptions& options) {
  auto* cmd = app.add_subcommand("validate", "Check workflow files without running anything");
  auto files = std::make_shared<std::vector<std::string>>();
  cmd->add_option("FILE", *files, "workflow files")->required();
  cmd->callback([&options, files] {
    options.action = [&options, files]() -> int {
      OperatorRegistry registry;
      if (!SetUpRegistry(options, registry)) return kExitUsage;
      bool all_valid = true;
      for (const auto& file : *files) {
        auto workflow = LoadWorkflowOrReport(file, registry);
        if (!workflow) {
          all_valid = false;
          continue;
        }
        std::cout << file << ": ok (workflow " << workflow->name << ", " << workflow->steps.size()
                  << " steps)\n";
      }
      return all_valid ? kExitOk : kExitUsage;
    };
  });
}

}  // namespace reel::cli
