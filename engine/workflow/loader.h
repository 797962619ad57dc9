// Loads a workflow file into the immutable Workflow model and validates it completely before
// anything runs: every problem is reported (not only the first) as FILE:LINE:COL diagnostics.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/workflow/operator_catalog.h"
#include "engine/workflow/workflow.h"

namespace reel {

struct LoadOptions {
  YamlLimits limits;
  // When set, each path in the workflow's `plugins:` list (relative to the file's folder) is
  // loaded through it before the steps are checked, so that their operators are known. A
  // failure is reported at the list entry.
  std::function<Status(const std::filesystem::path&)> load_plugin;
};

// Returns the workflow, or nullptr when `diags` has errors. Warnings may accompany success.
WorkflowPtr LoadWorkflowFile(const std::string& path, const OperatorCatalog& operators,
                             Diagnostics& diags, const LoadOptions& options = {});
WorkflowPtr LoadWorkflowText(const std::string& file, const std::string& text,
                             const OperatorCatalog& operators, Diagnostics& diags,
                             const LoadOptions& options = {});
// The same from the tree ParseYaml made of `text` (null when it failed: its errors are in
// `diags` already), for callers that look at the tree first. Does not sort `diags`.
WorkflowPtr LoadWorkflowTree(const std::string& file, const std::string& text,
                             const YamlNodePtr& root, const OperatorCatalog& operators,
                             Diagnostics& diags);

// The semantic checks run by the loader once the structure is read: operators and their config
// schema, needs, cycles, template references, the schedule. Exposed for tests.
void ValidateWorkflow(const Workflow& workflow, const YamlNode& root,
                      const OperatorCatalog& operators, Diagnostics& diags);

}  // namespace reel
