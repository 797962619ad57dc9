#include "cli/common.h"

#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "engine/workflow_loader.h"
#include "engine/yaml_tree.h"

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
  YamlLimits limits;
  auto text = ReadSourceFile(path, limits, diags);
  if (!text.ok()) {
    PrintDiagnostics(diags);
    return nullptr;
  }
  // Parsed once: plugins named by the workflow must be loaded before its steps are validated.
  YamlNodePtr root = ParseYaml(path, *text, limits, diags);
  if (root && root->IsMap()) {
    if (const YamlNode* plugins = root->Get("plugins"); plugins && plugins->IsSequence()) {
      auto base = std::filesystem::path(path).parent_path();
      for (const auto& item : plugins->items) {
        if (!item->IsScalar()) continue;
        std::filesystem::path p(item->scalar);
        if (!p.is_absolute()) p = base / p;
        Status s = registry.LoadPlugin(p);
        if (!s.ok()) diags.Error(path, item->mark, s.message());
      }
    }
  }
  auto workflow = LoadWorkflowTree(path, *text, root, registry.Catalog(), diags);
  diags.Sort();
  PrintDiagnostics(diags);
  return diags.has_errors() ? nullptr : workflow;
}

}  // namespace reel::cli
