#include <iostream>

#include "cli/common.h"

namespace reel::cli {
namespace {

nlohmann::ordered_json OperatorJson(const OperatorInfo& info) {
  nlohmann::ordered_json out;
  out["name"] = info.name;
  out["description"] = info.description;
  out["config"] = nlohmann::ordered_json::array();
  for (const auto& field : info.config) {
    nlohmann::ordered_json f;
    f["name"] = field.name;
    f["type"] = ConfigTypeName(field.type);
    f["required"] = field.required;
    if (!field.default_value.is_null()) f["default"] = field.default_value;
    f["description"] = field.description;
    out["config"].push_back(f);
  }
  out["allow_unknown_keys"] = info.allow_unknown_keys;
  // null when the operator does not declare what it publishes.
  if (info.declares_outputs) {
    out["outputs"] = nlohmann::ordered_json::array();
    for (const auto& field : info.outputs) {
      out["outputs"].push_back({{"name", field.name},
                                {"type", ConfigTypeName(field.type)},
                                {"description", field.description}});
    }
    out["artifacts"] = info.artifacts;
  } else {
    out["outputs"] = nullptr;
    out["artifacts"] = nullptr;
  }
  out["open_outputs"] = info.open_outputs;
  out["example"] = info.example;
  return out;
}

// What the operator publishes, as steps.NAME.outputs.KEY and steps.NAME.artifacts.NAME.
void PrintPublished(const OperatorInfo& info) {
  if (!info.declares_outputs) {
    std::cout << "\noutputs: not declared\n";
    return;
  }
  const std::string more = info.open_outputs ? ", and those the step lists under outputs: (any "
                                               "key when it lists none)"
                                             : "";
  if (info.outputs.empty()) {
    std::cout << "\noutputs: none" << more << "\n";
  } else {
    std::cout << "\noutputs (steps.NAME.outputs.KEY" << more << "):\n";
    size_t width = 0;
    for (const auto& f : info.outputs) width = std::max(width, f.name.size());
    for (const auto& f : info.outputs) {
      std::cout << "  " << f.name << std::string(width - f.name.size() + 2, ' ') << "("
                << ConfigTypeName(f.type) << ") " << f.description << "\n";
    }
  }
  std::string artifacts;
  for (const auto& a : info.artifacts) artifacts += (artifacts.empty() ? "" : ", ") + a;
  if (info.open_outputs) {
    artifacts += (artifacts.empty() ? "" : ", and ") +
                 std::string(
                     "those the step lists under artifacts: (any file left in "
                     "$REEL_ARTIFACTS_DIR when it lists none)");
  }
  std::cout << "\nartifacts: " << (artifacts.empty() ? "none" : artifacts) << "\n";
}

void PrintOperator(const OperatorInfo& info) {
  std::cout << info.name << ": " << info.description << "\n";
  if (info.config.empty()) {
    std::cout << "\nsettings: none\n";
  } else {
    std::cout << "\nsettings (with:):\n";
    size_t width = 0;
    for (const auto& f : info.config) width = std::max(width, f.name.size());
    for (const auto& f : info.config) {
      std::string kind = ConfigTypeName(f.type);
      kind += f.required ? ", required" : "";
      if (!f.default_value.is_null()) kind += ", default " + f.default_value.dump();
      std::cout << "  " << f.name << std::string(width - f.name.size() + 2, ' ') << "(" << kind
                << ") " << f.description << "\n";
    }
  }
  PrintPublished(info);
  if (!info.example.empty()) {
    std::cout << "\nexample:\n";
    std::string line;
    for (char c : info.example) {
      if (c == '\n') {
        std::cout << "  " << line << "\n";
        line.clear();
      } else {
        line += c;
      }
    }
    if (!line.empty()) std::cout << "  " << line << "\n";
  }
}

}  // namespace

void AddOperatorsCommand(CLI::App& app, GlobalOptions& options) {
  auto* cmd = app.add_subcommand("operators", "List registered operators, or show one in full");
  auto name = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("NAME", *name, "operator to show with its config schema and an example");
  cmd->add_flag("--json", *json, "print JSON");
  cmd->callback([&options, name, json] {
    options.action = [&options, name, json]() -> int {
      OperatorRegistry registry;
      if (!SetUpRegistry(options, registry)) return kExitUsage;
      if (!name->empty()) {
        const OperatorDef* def = registry.Find(*name);
        if (!def) {
          std::string guess = ClosestMatch(*name, registry.Names());
          std::string known;
          for (const auto& n : registry.Names()) known += (known.empty() ? "" : ", ") + n;
          PrintError("unknown operator '" + *name + "'" +
                     (guess.empty() ? "" : "; did you mean '" + guess + "'?") +
                     " known operators: " + known);
          return kExitUsage;
        }
        if (*json) {
          std::cout << JsonText(OperatorJson(def->info)) << "\n";
        } else {
          PrintOperator(def->info);
        }
        return kExitOk;
      }
      if (*json) {
        nlohmann::ordered_json all = nlohmann::ordered_json::array();
        for (const auto* def : registry.All()) all.push_back(OperatorJson(def->info));
        std::cout << JsonText(all) << "\n";
        return kExitOk;
      }
      size_t width = 0;
      for (const auto* def : registry.All()) width = std::max(width, def->info.name.size());
      for (const auto* def : registry.All()) {
        std::cout << def->info.name << std::string(width - def->info.name.size() + 2, ' ')
                  << def->info.description << "\n";
      }
      return kExitOk;
    };
  });
}

}  // namespace reel::cli
