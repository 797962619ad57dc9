#include "cli/common.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "engine/base/utf8.h"
#include "engine/workflow/loader.h"
#include "home/config.h"

namespace reel::cli {

void PrintError(const std::string& message) {
  std::fprintf(stderr, "reel: error: %s\n", message.c_str());
}

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk:
      return kExitOk;
    case Status::Code::kInvalidArgument:
      return kExitUsage;
    case Status::Code::kNotFound:
    case Status::Code::kAlreadyExists:
    case Status::Code::kConflict:
    case Status::Code::kFailed:
    case Status::Code::kCancelled:
    case Status::Code::kTimeout:
      return kExitRunFailed;
    default:
      return kExitInternal;
  }
}

int ReportFailure(const Status& s) {
  PrintError(s.message());
  return ExitCodeFor(s);
}

std::string FirstLine(const std::string& text, size_t max_bytes) {
  size_t end = text.find_first_of("\r\n");
  std::string line = text.substr(0, end);
  bool more =
      end != std::string::npos && text.find_first_not_of("\r\n \t", end) != std::string::npos;
  if (line.size() > max_bytes) {
    line = std::string(Utf8Prefix(line, max_bytes));
    more = true;
  }
  return more ? line + " ..." : line;
}

bool SetUpRegistry(const GlobalOptions& options, OperatorRegistry& registry) {
  RegisterBuiltinOperators(registry);
  // What the user trusts, and nothing a workflow file says: the command line, the environment,
  // and the config of a home the user chose. The default home, ./.reel, lies in the working
  // directory, which may be a checkout of someone else's code, so its config is not read.
  std::vector<std::filesystem::path> plugins;
  for (const auto& path : PluginPathsFromEnvironment()) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
      registry.TrustDirectory(path);
    } else {
      plugins.push_back(path);
    }
  }
  for (const auto& p : options.plugins) plugins.emplace_back(p);
  const char* env_home = std::getenv("REEL_HOME");
  if (!options.home.empty() || (env_home != nullptr && *env_home != '\0')) {
    Result<HomeConfig> config = ReadHomeConfig(ResolveHome(options));
    if (!config.ok()) {
      PrintError(config.status().message());
      return false;
    }
    for (const auto& dir : config->plugin_dirs) registry.TrustDirectory(dir);
  }
  for (const auto& path : plugins) {
    Status s = registry.LoadPlugin(path);
    if (!s.ok()) {
      PrintError(s.message());
      return false;
    }
  }
  return true;
}

namespace {

void PrintDiagnostics(const Diagnostics& diags) {
  std::string text = diags.Format();
  std::fputs(text.c_str(), stderr);
  size_t errors = 0;
  for (const auto& d : diags.items()) {
    if (d.severity == Diagnostic::Severity::kError) ++errors;
  }
  if (errors > 0) {
    std::fprintf(stderr, "%zu error%s\n", errors, errors == 1 ? "" : "s");
  }
}

}  // namespace

WorkflowPtr LoadWorkflowOrReport(const std::string& path, OperatorRegistry& registry) {
  Diagnostics diags;
  WorkflowPtr workflow = LoadWorkflowWithDiagnostics(path, registry, diags);
  PrintDiagnostics(diags);
  return workflow;
}

WorkflowPtr LoadWorkflowWithDiagnostics(const std::string& path, OperatorRegistry& registry,
                                        Diagnostics& diags) {
  LoadOptions options;
  // Plugins named by the workflow are loaded, when trusted, before its steps are validated.
  options.load_plugin = [&registry](const std::filesystem::path& plugin) {
    return registry.LoadWorkflowPlugin(plugin);
  };
  WorkflowPtr workflow = LoadWorkflowFile(path, registry.Catalog(), diags, options);
  return diags.has_errors() ? nullptr : workflow;
}

CLI::Validator NumberIn(double lo, double hi, bool whole) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const char* begin = text.c_str();
        char* end = nullptr;
        double v = std::strtod(begin, &end);
        bool number = !text.empty() && end != begin && *end == '\0' && std::isfinite(v);
        if (number && v >= lo && v <= hi && (!whole || v == std::floor(v))) {
          if (whole) text = fmt::format("{}", static_cast<long long>(v));
          return "";
        }
        std::string shown = text.size() > 40 ? text.substr(0, 37) + "..." : text;
        return fmt::format("expects {} from {} to {}, got '{}'",
                           whole ? "a whole number" : "a number", lo, hi, shown);
      },
      fmt::format("{}-{}", lo, hi));
}

}  // namespace reel::cli
