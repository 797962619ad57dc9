#include "cli/commands.h"

namespace reel::cli {

void AddGraphCommand(CLI::App& app, GlobalOptions& options) {
  auto* cmd = app.add_subcommand("graph", "graph");
  cmd->callback([&options] { options.action = [] { return kExitOk; }; });
}

}  // namespace reel::cli
