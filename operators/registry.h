// The operator registry: built-ins registered from one explicit list
// (operators/builtin_operators.cc), plugins loaded from explicit paths.
//
// Thread-safety: populate the registry before a run starts; lookups are then read-only and may
// happen from any thread.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "engine/workflow_loader.h"
#include "operators/operator.h"

namespace reel {

class OperatorRegistry {
 public:
  OperatorRegistry() = default;
  OperatorRegistry(const OperatorRegistry&) = delete;
  OperatorRegistry& operator=(const OperatorRegistry&) = delete;
  virtual ~OperatorRegistry();

  // Virtual so that a plugin reaches it through the vtable, without linking against reel.
  // Fails with AlreadyExists when the name is taken.
  virtual Status Register(OperatorDef def);

  const OperatorDef* Find(std::string_view name) const;
  std::vector<std::string> Names() const;  // sorted
  std::vector<const OperatorDef*> All() const;  // sorted by name
  // The view of this registry that the workflow loader validates against. The registry must
  // outlive it.
  OperatorCatalog Catalog() const;

  // dlopen()s a shared library, checks reel_operator_api_version() and calls
  // reel_register_operators(this). Loading the same path twice is a no-op.
  Status LoadPlugin(const std::filesystem::path& path);

 private:
  std::map<std::string, OperatorDef, std::less<>> defs_;
  std::vector<std::string> loaded_plugins_;
};

// Registers every built-in operator; the one list of them lives in builtin_operators.cc.
void RegisterBuiltinOperators(OperatorRegistry& registry);

// Plugins named by REEL_PLUGIN_PATH (colon-separated paths of .so files).
std::vector<std::filesystem::path> PluginPathsFromEnvironment();

}  // namespace reel
