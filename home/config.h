// A home's settings file, <home>/config.yaml: what the user who owns the home trusts. Today
// that is one key:
//
//   plugin_dirs: [/opt/reel/plugins, plugins]   # relative entries are relative to the home
//
// A workflow file may name (`plugins:`) only a plugin the user trusts: one given with
// --plugin, one in REEL_PLUGIN_PATH, or one inside a folder listed here.
#pragma once

#include <filesystem>
#include <vector>

#include "reel/status.h"

namespace reel {

struct HomeConfig {
  std::vector<std::filesystem::path> plugin_dirs;  // absolute
};

// The config of `home`; a missing file is an empty config. An unreadable or invalid file is an
// InvalidArgument whose message names file:line:col and what to fix.
Result<HomeConfig> ReadHomeConfig(const std::filesystem::path& home);

}  // namespace reel
