// Helpers shared by commands: the operator registry with plugins, loading a workflow with its
// diagnostics printed, consistent error output.
#pragma once

#include <string>

#include "cli/commands.h"
#include "engine/workflow/workflow.h"
#include "operators/builtin_operators.h"

namespace reel::cli {

// Registers built-ins, then plugins from --plugin and REEL_PLUGIN_PATH, and trusts the folders
// in REEL_PLUGIN_PATH and in the plugin_dirs of the config of a home given by --home or
// REEL_HOME. Prints the error and returns false when a plugin or the config cannot be loaded.
bool SetUpRegistry(const GlobalOptions& options, OperatorRegistry& registry);

// Loads and validates a workflow file, loading the plugins it names first if they are trusted
// (an untrusted one is an error at its entry). Diagnostics go to stderr; returns nullptr when
// the workflow is invalid.
WorkflowPtr LoadWorkflowOrReport(const std::string& path, OperatorRegistry& registry);
// The same, with the diagnostics handed back instead of printed.
WorkflowPtr LoadWorkflowWithDiagnostics(const std::string& path, OperatorRegistry& registry,
                                        Diagnostics& diags);

// JSON text for output. Strings that are not valid UTF-8 (written by an older reel) are
// repaired with U+FFFD instead of failing the whole command.
template <typename J>
std::string JsonText(const J& json, int indent = 2) {
  return json.dump(indent, ' ', false, J::error_handler_t::replace);
}

// A numeric flag's check: anything outside [lo, hi] (or not whole, with `whole`) is refused
// with the range in the message, e.g. "--max-parallel: expects a whole number from 1 to
// 100000, got '1e308'"; an accepted whole number is rewritten in plain digits for CLI11.
CLI::Validator NumberIn(double lo, double hi, bool whole);

// "reel: error: MESSAGE" on stderr.
void PrintError(const std::string& message);

// The exit code for a command that failed with `s`: 2 when what the user typed or wrote is
// malformed (InvalidArgument), 1 when it is well-formed but the home's state does not allow it
// (an unknown run, model, version or artifact; a run that has already finished or is still
// running; nothing to roll back), 3 otherwise.
int ExitCodeFor(const Status& s);
// Prints `s` as an error and returns ExitCodeFor(s).
int ReportFailure(const Status& s);

// The first line of `text`, with " ..." when more lines follow: for one cell of a table.
std::string FirstLine(const std::string& text, size_t max_bytes = 200);

}  // namespace reel::cli
