#include "home/config.h"

#include <system_error>

#include "engine/base/diagnostic.h"
#include "engine/workflow/yaml_tree.h"

namespace reel {

Result<HomeConfig> ReadHomeConfig(const std::filesystem::path& home) {
  HomeConfig config;
  const std::filesystem::path path = home / "config.yaml";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return config;
  Diagnostics diags;
  YamlLimits limits;
  limits.max_bytes = 64 << 10;
  Result<std::string> text = ReadSourceFile(path.string(), limits, diags);
  YamlNodePtr root = text.ok() ? ParseYaml(path.string(), *text, limits, diags) : nullptr;
  if (root && root->IsMap()) {
    for (const auto& [key, value] : root->entries) {
      if (key->scalar != "plugin_dirs") {
        diags.Error(path.string(), key->mark, "unknown key '" + key->scalar + "'",
                    "the keys of config.yaml are: plugin_dirs");
        continue;
      }
      if (!value->IsSequence()) {
        diags.Error(path.string(), value->mark, "plugin_dirs must be a list of folders",
                    "e.g. plugin_dirs: [/opt/reel/plugins]");
        continue;
      }
      for (const auto& item : value->items) {
        if (!item->IsScalar() || item->scalar.empty()) {
          diags.Error(path.string(), item->mark, "each entry of plugin_dirs must be a folder path");
          continue;
        }
        std::filesystem::path dir(item->scalar);
        config.plugin_dirs.push_back(dir.is_absolute() ? dir : home / dir);
      }
    }
  } else if (root && !root->IsNull()) {
    diags.Error(path.string(), root->mark,
                "config.yaml must be a mapping, e.g. plugin_dirs: [/opt/reel/plugins]");
  }
  if (diags.has_errors() || !text.ok()) {
    std::string report = diags.Format();
    while (!report.empty() && report.back() == '\n') report.pop_back();
    return Status::InvalidArgument(report.empty() ? text.status().message() : report);
  }
  return config;
}

}  // namespace reel
