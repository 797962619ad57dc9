// The `reel` command line: each command lives in its own cmd_*.cc and adds itself to the app
// through one Add*Command function, called from main.cc.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace reel::cli {

// Exit codes (README.md, docs/running.md): 0 success; 1 the run failed, or the home's state does
// not allow the command (an unknown run or model version, a run that already finished); 2 usage
// or validation error; 3 internal error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRunFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInternal = 3;

struct GlobalOptions {
  std::string home;                  // --home; empty: $REEL_HOME, else ./.reel
  std::vector<std::string> plugins;  // --plugin, repeatable
  // Set by the chosen subcommand's parse callback; run by main after parsing succeeds.
  std::function<int()> action;
};

// The home folder from --home, $REEL_HOME or ./.reel, in that order.
std::string ResolveHome(const GlobalOptions& options);

void AddValidateCommand(CLI::App& app, GlobalOptions& options);
void AddGraphCommand(CLI::App& app, GlobalOptions& options);
void AddParamsCommand(CLI::App& app, GlobalOptions& options);
// artifacts path
void AddArtifactsCommand(CLI::App& app, GlobalOptions& options);
void AddOperatorsCommand(CLI::App& app, GlobalOptions& options);
void AddRunCommand(CLI::App& app, GlobalOptions& options);
void AddResumeCommand(CLI::App& app, GlobalOptions& options);
// runs, show, logs, cancel
void AddRunsCommands(CLI::App& app, GlobalOptions& options);
// runs compare, nested under `runs`: call after AddRunsCommands
void AddCompareCommand(CLI::App& app, GlobalOptions& options);
// models list|show|promote|rollback|path
void AddModelsCommand(CLI::App& app, GlobalOptions& options);
void AddScheduleCommand(CLI::App& app, GlobalOptions& options);
void AddBackfillCommand(CLI::App& app, GlobalOptions& options);
// task-exec: runs one attempt from its job folder (what a Slurm job runs)
void AddTaskExecCommand(CLI::App& app, GlobalOptions& options);
void AddServeCommand(CLI::App& app, GlobalOptions& options);
void AddFactsCommand(CLI::App& app, GlobalOptions& options);
void AddExampleDataCommand(CLI::App& app, GlobalOptions& options);
// explain RUN STEP
void AddExplainCommand(CLI::App& app, GlobalOptions& options);

}  // namespace reel::cli
