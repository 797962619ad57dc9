#include "cli/commands.h"

namespace reel::cli {

void AddValidateCommand(CLI::App& app, GlobalOptions& options) {
  auto* cmd = app.add_subcommand("validate", "validate");
  cmd->callback([&options] { options.action = [] { return kExitOk; }; });
}

}  // namespace reel::cli
