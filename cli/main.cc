#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

#include "cli/commands.h"
#include "engine/base/process.h"

namespace reel::cli {

std::string ResolveHome(const GlobalOptions& options) {
  if (!options.home.empty()) return options.home;
  if (const char* env = std::getenv("REEL_HOME"); env && *env) return env;
  return ".reel";
}

}  // namespace reel::cli

int main(int argc, char** argv) {
  // Before any thread starts: every thread of the engine then has SIGCHLD blocked.
  reel::BlockChildExitSignal();
  reel::RaiseOpenFileLimit();
  using namespace reel::cli;
  CLI::App app{"reel: a workflow engine for machine-learning pipelines"};
  app.set_version_flag("--version", std::string("reel ") + REEL_VERSION);
  app.require_subcommand(1);
  // Global options may also follow the subcommand (`reel runs --home X`): an option a
  // subcommand does not know falls through to its parents. Subcommands inherit the setting.
  app.fallthrough();
  GlobalOptions options;
  app.add_option("--home", options.home, "state folder (default: $REEL_HOME, else ./.reel)");
  app.add_option("--plugin", options.plugins, "load operators from this shared library")
      ->type_name("PATH");

  AddValidateCommand(app, options);
  AddGraphCommand(app, options);
  AddParamsCommand(app, options);
  AddOperatorsCommand(app, options);
  AddRunCommand(app, options);
  AddResumeCommand(app, options);
  AddRunsCommands(app, options);
  AddCompareCommand(app, options);
  AddModelsCommand(app, options);
  AddArtifactsCommand(app, options);
  AddScheduleCommand(app, options);
  AddBackfillCommand(app, options);
  AddServeCommand(app, options);
  AddFactsCommand(app, options);
  AddExampleDataCommand(app, options);
  AddExplainCommand(app, options);
  AddTaskExecCommand(app, options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (!options.action) return kExitUsage;
  try {
    return options.action();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reel: internal error: %s\n", e.what());
    return kExitInternal;
  }
}
