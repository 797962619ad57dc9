#include "engine/exec/operator_registry.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "engine/base/sha256.h"

namespace reel {

OperatorRegistry::~OperatorRegistry() = default;

Status OperatorRegistry::Register(OperatorDef def) {
  if (def.info.name.empty()) return Status::InvalidArgument("an operator needs a name");
  if (!def.create)
    return Status::InvalidArgument("operator '" + def.info.name + "' has no factory");
  auto name = def.info.name;
  std::unique_lock<std::shared_mutex> lock(mu_);
  std::string source = loading_.empty() ? "built-in" : "plugin '" + loading_ + "'";
  if (auto it = sources_.find(name); it != sources_.end()) {
    Status s = Status::AlreadyExists(fmt::format(
        "operator '{}' is registered twice: by {} and by {}; load only one of them (operator "
        "names are global)",
        name, it->second, source));
    if (duplicate_.ok()) duplicate_ = s;
    return s;
  }
  sources_.emplace(name, std::move(source));
  code_versions_[name] =
      loading_code_version_.empty() ? std::string("reel ") + REEL_VERSION : loading_code_version_;
  defs_.emplace(name, std::move(def));
  return Status::Ok();
}

const OperatorDef* OperatorRegistry::Find(std::string_view name) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = defs_.find(name);
  return it == defs_.end() ? nullptr : &it->second;
}

std::vector<std::string> OperatorRegistry::Names() const {
  std::vector<std::string> names;
  std::shared_lock<std::shared_mutex> lock(mu_);
  for (const auto& [name, def] : defs_) names.push_back(name);
  return names;
}

std::vector<const OperatorDef*> OperatorRegistry::All() const {
  std::vector<const OperatorDef*> all;
  std::shared_lock<std::shared_mutex> lock(mu_);
  for (const auto& [name, def] : defs_) all.push_back(&def);
  return all;
}

OperatorCatalog OperatorRegistry::Catalog() const {
  OperatorCatalog catalog;
  catalog.find = [this](const std::string& name) -> const OperatorInfo* {
    const OperatorDef* def = Find(name);
    return def ? &def->info : nullptr;
  };
  catalog.names = Names();
  catalog.create = [this](const std::string& name) -> std::unique_ptr<Operator> {
    const OperatorDef* def = Find(name);
    return def ? def->create() : nullptr;
  };
  catalog.code_version = [this](const std::string& name) -> std::string {
    std::shared_lock<std::shared_mutex> lock(mu_);
    auto it = code_versions_.find(name);
    return it == code_versions_.end() ? std::string() : it->second;
  };
  return catalog;
}

Status OperatorRegistry::LoadPlugin(const std::filesystem::path& path) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(path, ec);
  std::string key = ec ? path.string() : canonical.string();
  std::lock_guard<std::mutex> load_lock(load_mu_);
  auto count = [this] {
    std::shared_lock<std::shared_mutex> lock(mu_);
    return defs_.size();
  };
  for (const auto& loaded : loaded_plugins_) {
    if (loaded == key) return Status::Ok();
  }
  if (!std::filesystem::exists(path)) {
    return Status::NotFound("plugin '" + path.string() + "' does not exist");
  }
  // RTLD_NODELETE keeps the code mapped for operator objects that outlive the registry.
  void* handle = dlopen(key.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!handle) {
    return Status::InvalidArgument("cannot load plugin '" + path.string() + "': " + dlerror());
  }
  using VersionFn = int (*)();
  using RegisterFn = void (*)(OperatorRegistrar*);
  auto version = reinterpret_cast<VersionFn>(dlsym(handle, "reel_operator_api_version"));
  auto do_register = reinterpret_cast<RegisterFn>(dlsym(handle, "reel_register_operators"));
  if (!version || !do_register) {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not a reel plugin: it must export reel_operator_api_version and "
        "reel_register_operators (see REEL_PLUGIN_ENTRY_POINTS in include/reel/operator.h)",
        path.string()));
  }
  int plugin_version = version();
  if (plugin_version != kOperatorApiVersion) {
    std::ostringstream msg;
    msg << "plugin '" << path.string() << "' was built for operator API version " << plugin_version
        << " but this reel provides version " << kOperatorApiVersion
        << "; rebuild the plugin against this reel's include/reel/operator.h";
    return Status::InvalidArgument(msg.str());
  }
  size_t before = count();
  Result<std::string> digest = Sha256::HexOfFile(key);
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    loading_ = path.string();
    loading_code_version_ = "plugin sha256:" + (digest.ok() ? *digest : std::string("unknown"));
    duplicate_ = Status::Ok();
  }
  do_register(this);  // calls Register, which takes mu_
  Status duplicate;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    loading_.clear();
    loading_code_version_.clear();
    duplicate = std::exchange(duplicate_, Status::Ok());
  }
  if (!duplicate.ok()) {
    loaded_plugins_.push_back(key);  // its other operators stay registered
    return Status::InvalidArgument(duplicate.message());
  }
  if (count() == before) {
    return Status::InvalidArgument("plugin '" + path.string() + "' registered no operator");
  }
  loaded_plugins_.push_back(key);
  return Status::Ok();
}

namespace {

// The path with symbolic links, `.` and `..` resolved, so that no spelling of a path escapes
// the folder it is checked against.
std::filesystem::path Canonical(const std::filesystem::path& path) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
  return ec ? path.lexically_normal() : canonical;
}

bool Inside(const std::filesystem::path& file, const std::filesystem::path& dir) {
  auto [d, f] = std::mismatch(dir.begin(), dir.end(), file.begin(), file.end());
  // Every component of `dir` matched (a trailing empty one from "dir/" counts as matched).
  return (d == dir.end() || (std::next(d) == dir.end() && d->empty())) && f != file.end();
}

}  // namespace

void OperatorRegistry::TrustDirectory(const std::filesystem::path& dir) {
  std::lock_guard<std::mutex> load_lock(load_mu_);
  trusted_dirs_.push_back(Canonical(dir));
}

Status OperatorRegistry::LoadWorkflowPlugin(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) {
    return Status::NotFound("plugin '" + path.string() + "' does not exist");
  }
  const std::filesystem::path canonical = Canonical(path);
  bool trusted = false;
  {
    std::lock_guard<std::mutex> load_lock(load_mu_);
    for (const auto& loaded : loaded_plugins_) trusted = trusted || loaded == canonical.string();
    for (const auto& dir : trusted_dirs_) trusted = trusted || Inside(canonical, dir);
  }
  if (!trusted) {
    return Status::InvalidArgument(fmt::format(
        "plugin '{}' is not trusted, so it was not loaded: loading a plugin runs its code, and "
        "a workflow file may name only plugins you trust. Trust it with `reel --plugin {} ...`, "
        "by adding it or its folder to REEL_PLUGIN_PATH, or by listing its folder under "
        "plugin_dirs in config.yaml of the home given by --home or REEL_HOME",
        path.string(), canonical.string()));
  }
  return LoadPlugin(path);
}

std::vector<std::string> OperatorRegistry::LoadedPlugins() {
  std::lock_guard<std::mutex> lock(load_mu_);
  return loaded_plugins_;
}

std::vector<std::filesystem::path> PluginPathsFromEnvironment() {
  std::vector<std::filesystem::path> paths;
  const char* env = std::getenv("REEL_PLUGIN_PATH");
  if (!env) return paths;
  std::string value = env;
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(':', start);
    if (end == std::string::npos) end = value.size();
    if (end > start) paths.emplace_back(value.substr(start, end - start));
    start = end + 1;
  }
  return paths;
}

}  // namespace reel
