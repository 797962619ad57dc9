// reel validate FILE...: load and check workflow files, run nothing.
#include <iostream>

#include "cli/common.h"

namespace reel::cli {

void AddValidateCommand(CLI::App& app, GlobalOptions& options) {
  auto* cmd = app.add_subcommand("validate", "Check workflow files without running anything");
  auto files = std::make_shared<std::vector<std::string>>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("FILE", *files, "workflow files")->required();
  cmd->add_flag("--json", *json,
                "print {ok, files: [{file, valid, workflow, steps, diagnostics: [{file, line, col, "
                "severity, message, hint}]}]}");
  cmd->callback([&options, files, json] {
    options.action = [&options, files, json]() -> int {
      using OJson = nlohmann::ordered_json;
      OperatorRegistry registry;
      if (!SetUpRegistry(options, registry)) return kExitUsage;
      bool all_valid = true;
      OJson out = OJson::array();
      for (const auto& file : *files) {
        if (!*json) {
          auto workflow = LoadWorkflowOrReport(file, registry);
          if (!workflow) {
            all_valid = false;
            continue;
          }
          std::cout << file << ": ok (workflow " << workflow->name << ", " << workflow->steps.size()
                    << " steps)\n";
          continue;
        }
        Diagnostics diags;
        auto workflow = LoadWorkflowWithDiagnostics(file, registry, diags);
        all_valid = all_valid && workflow != nullptr;
        OJson entry;
        entry["file"] = file;
        entry["valid"] = workflow != nullptr;
        entry["workflow"] = workflow ? OJson(workflow->name) : OJson(nullptr);
        entry["steps"] = workflow ? OJson(workflow->steps.size()) : OJson(nullptr);
        entry["diagnostics"] = OJson::array();
        for (const auto& d : diags.items()) {
          entry["diagnostics"].push_back(
              {{"file", d.file},
               {"line", d.mark.line},
               {"col", d.mark.column},
               {"severity", d.severity == Diagnostic::Severity::kError ? "error" : "warning"},
               {"message", d.message},
               {"hint", d.hint.empty() ? OJson(nullptr) : OJson(d.hint)}});
        }
        out.push_back(std::move(entry));
      }
      if (*json) {
        std::cout << JsonText(OJson{{"ok", all_valid}, {"valid", all_valid}, {"files", out}})
                  << "\n";
      }
      return all_valid ? kExitOk : kExitUsage;
    };
  });
}

}  // namespace reel::cli
