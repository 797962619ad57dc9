// The operator registry: built-ins registered from one explicit list
// (operators/builtin_operators.cc), plugins loaded from explicit paths.
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

  // Fails with AlreadyExists when the name is taken.
  Status Register(OperatorDef def) override;

  const OperatorDef* Find(std::string_view name) const;
  std::vector<std::string> Names() const;       // sorted
  std::vector<const OperatorDef*> All() const;  // sorted by name
  // The view of this registry that the workflow loader validates against. The registry must
  // outlive it.
  OperatorCatalog Catalog() const;

  // dlopen()s a shared library, checks reel_operator_api_version() and calls
  // reel_register_operators(this). Loading the same path twice is a no-op.
  Status LoadPlugin(const std::filesystem::path& path);

 private:
  mutable std::shared_mutex mu_;  // guards defs_ (whose nodes never move)
  std::map<std::string, OperatorDef, std::less<>> defs_;
  std::mutex load_mu_;  // one plugin load at a time; guards loaded_plugins_
  std::vector<std::string> loaded_plugins_;
};

// Plugins named by REEL_PLUGIN_PATH (colon-separated paths of .so files).
std::vector<std::filesystem::path> PluginPathsFromEnvironment();

}  // namespace reel
