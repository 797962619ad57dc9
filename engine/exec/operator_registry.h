// The operator registry: built-ins registered from one explicit list
// (operators/builtin_operators.cc), plugins loaded from explicit paths.
//
// Loading a plugin runs its code, so a plugin named by a workflow file (which may come from
// anyone: a pull request, a folder the daemon watches) is loaded only when the user trusts it:
// it was loaded with LoadPlugin (--plugin, REEL_PLUGIN_PATH), or it lies in a folder passed to
// TrustDirectory (REEL_PLUGIN_PATH, plugin_dirs in the home's config.yaml).
//
// Thread-safety: every method may be called from any thread; a plugin may be loaded while runs
// look operators up (the daemon loads those named by workflow files as it finds them). What
// Find returns stays valid as long as the registry.
#pragma once

#include <filesystem>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/workflow/operator_catalog.h"
#include "reel/operator.h"
#include "reel/status.h"

namespace reel {

class OperatorRegistry : public OperatorRegistrar {
 public:
  OperatorRegistry() = default;
  OperatorRegistry(const OperatorRegistry&) = delete;
  OperatorRegistry& operator=(const OperatorRegistry&) = delete;
  virtual ~OperatorRegistry();

  // Fails with AlreadyExists, naming the operator and both sources (built-in or the plugin's
  // path), when the name is taken.
  Status Register(OperatorDef def) override;

  const OperatorDef* Find(std::string_view name) const;
  std::vector<std::string> Names() const;       // sorted
  std::vector<const OperatorDef*> All() const;  // sorted by name
  // The view of this registry that the workflow loader validates against. The registry must
  // outlive it.
  OperatorCatalog Catalog() const;

  // dlopen()s a shared library, checks reel_operator_api_version() and calls
  // reel_register_operators(this). Loading the same path twice is a no-op. The caller vouches
  // for the library (the user named it). An operator it registers under a name that is taken
  // (by a built-in or another plugin) fails the load with InvalidArgument naming both sources.
  Status LoadPlugin(const std::filesystem::path& path);

  // The plugins loaded so far (canonical paths), in load order.
  std::vector<std::string> LoadedPlugins();

  // Plugins inside `dir` (or its subfolders; symbolic links resolved) may be named by workflow
  // files.
  void TrustDirectory(const std::filesystem::path& dir);
  // For a plugin that a workflow file names: LoadPlugin when the user trusts it (see the top
  // of this file); otherwise InvalidArgument saying how to trust it, and nothing is loaded.
  Status LoadWorkflowPlugin(const std::filesystem::path& path);

 private:
  mutable std::shared_mutex mu_;  // guards defs_ (whose nodes never move), sources_, loading_
  std::map<std::string, OperatorDef, std::less<>> defs_;
  // Who registered each operator: "built-in" or "plugin 'PATH'", for duplicate errors.
  std::map<std::string, std::string, std::less<>> sources_;
  std::string loading_;  // the plugin whose reel_register_operators runs now; empty otherwise
  Status duplicate_;     // the first duplicate registration during that call
  // What identifies each operator's code (OperatorCatalog::code_version); guarded by mu_.
  std::map<std::string, std::string, std::less<>> code_versions_;
  std::string loading_code_version_;  // guarded by mu_; set while a plugin registers
  std::mutex load_mu_;  // one plugin load at a time; guards loaded_plugins_, trusted_dirs_
  std::vector<std::string> loaded_plugins_;          // canonical paths
  std::vector<std::filesystem::path> trusted_dirs_;  // canonical paths
};

// The entries of REEL_PLUGIN_PATH (colon-separated): plugin files to load, and folders whose
// plugins workflow files may name.
std::vector<std::filesystem::path> PluginPathsFromEnvironment();

}  // namespace reel
