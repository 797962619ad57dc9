#include "cli/common.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "engine/workflow/loader.h"

namespace reel::cli {

void PrintError(const std::string& message) {
  std::fprintf(stderr, "reel: error: %s\n", message.c_str());
}

bool SetUpRegistry(const GlobalOptions& options, OperatorRegistry& registry) {
  RegisterBuiltinOperators(registry);
  std::vector<std::filesystem::path> plugins = PluginPathsFromEnvironment();
  for (const auto& p : options.plugins) plugins.emplace_back(p);
  for (const auto& path : plugins) {
    Status s = registry.LoadPlugin(path);
    if (!s.ok()) {
      PrintError(s.message());
      return false;
    }
  }
  return true;
}

namespace {

void PrintDiagnostics(const Diagnostics& diags) {
  std::string text = diags.Format();
  std::fputs(text.c_str(), stderr);
  size_t errors = 0;
  for (const auto& d : diags.items()) {
    if (d.severity == Diagnostic::Severity::kError) ++errors;
  }
  if (errors > 0) {
    std::fprintf(stderr, "%zu error%s\n", errors, errors == 1 ? "" : "s");
  }
}

}  // namespace

WorkflowPtr LoadWorkflowOrReport(const std::string& path, OperatorRegistry& registry) {
  Diagnostics diags;
  LoadOptions options;
  // Plugins named by the workflow are loaded before its steps are validated.
  options.load_plugin = [&registry](const std::filesystem::path& plugin) {
    return registry.LoadPlugin(plugin);
  };
  WorkflowPtr workflow = LoadWorkflowFile(path, registry.Catalog(), diags, options);
  PrintDiagnostics(diags);
  return diags.has_errors() ? nullptr : workflow;
}

}  // namespace reel::cli
