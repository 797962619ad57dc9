// reel params FILE [--json]: a workflow's params with type, default, whether required, and
// description: what `reel run FILE -p KEY=VALUE` accepts.
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/common.h"

namespace reel::cli {
namespace {

using OJson = nlohmann::ordered_json;

int ListParams(const Workflow& workflow, bool json) {
  if (json) {
    OJson out = OJson::array();
    for (const auto& p : workflow.params) {
      out.push_back({{"name", p.name},
                     {"type", ParamTypeName(p.type)},
                     {"default",
                      p.has_default ? OJson::parse(JsonText(p.default_value, -1)) : OJson(nullptr)},
                     {"has_default", p.has_default},
                     {"required", p.required},
                     {"description", p.description}});
    }
    std::cout << JsonText(OJson{{"workflow", workflow.name}, {"params", out}}) << "\n";
    return kExitOk;
  }
  if (workflow.params.empty()) {
    std::cout << "workflow " << workflow.name << " has no params\n";
    return kExitOk;
  }
  auto default_text = [](const ParamSpec& p) -> std::string {
    if (!p.has_default) return "-";
    return p.default_value.is_string() ? p.default_value.get<std::string>()
                                       : p.default_value.dump();
  };
  size_t wn = 4, wd = 7;
  for (const auto& p : workflow.params) {
    wn = std::max(wn, p.name.size());
    wd = std::max(wd, FirstLine(default_text(p), 60).size());
  }
  std::printf("%-*s  %-6s  %-*s  %-8s  %s\n", static_cast<int>(wn), "NAME", "TYPE",
              static_cast<int>(wd), "DEFAULT", "REQUIRED", "DESCRIPTION");
  for (const auto& p : workflow.params) {
    std::printf("%-*s  %-6s  %-*s  %-8s  %s\n", static_cast<int>(wn), p.name.c_str(),
                ParamTypeName(p.type), static_cast<int>(wd), FirstLine(default_text(p), 60).c_str(),
                p.required ? "yes" : "no", FirstLine(p.description).c_str());
  }
  return kExitOk;
}

}  // namespace

void AddParamsCommand(CLI::App& app, GlobalOptions& options) {
  auto* cmd = app.add_subcommand("params",
                                 "List a workflow's params: type, default, required, description");
  auto file = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("FILE", *file, "workflow file")->required();
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([&options, file, json] {
    options.action = [&options, file, json]() -> int {
      OperatorRegistry registry;
      if (!SetUpRegistry(options, registry)) return kExitUsage;
      auto workflow = LoadWorkflowOrReport(*file, registry);
      if (!workflow) return kExitUsage;
      return ListParams(*workflow, *json);
    };
  });
}

}  // namespace reel::cli
