#include "operators/python.h"

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "engine/base/fsutil.h"
#include "reel_step_py.h"

namespace reel {
namespace {

namespace fs = std::filesystem;

Result<std::string> ArgEntry(const Json& v, std::size_t index) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return Status::InvalidArgument(
      fmt::format("python: args[{}] is {}; every argument must be a string or a number", index,
                  v.is_null() ? "null" : (v.is_array() ? "a list" : "a mapping")));
}

std::string StringSetting(const Json& config, const char* key) {
  return config.contains(key) && config[key].is_string() ? config[key].get<std::string>() : "";
}

// Writes the reel_step module into `dir` (once per attempt; it is small) and returns `dir`.
Result<fs::path> InstallHelper(const fs::path& dir) {
  REEL_RETURN_IF_ERROR(MakePrivateDirs(dir));
  REEL_RETURN_IF_ERROR(WriteFileAtomic(dir / "reel_step.py", ReelStepModuleSource(), 0600));
  return dir;
}

}  // namespace

std::string_view ReelStepModuleSource() { return kReelStepPy; }

OperatorInfo PythonOperator::Info() {
  OperatorInfo info;
  info.name = "python";
  info.description =
      "Runs a Python script (or module) under the process-step protocol: `import reel_step` to "
      "read upstream outputs and artifacts and publish outputs, artifacts and metrics.";
  info.config = {
      {"script", ConfigType::kString, false, nullptr,
       "the script to run, relative to the workflow file's folder (or `module`)"},
      {"module", ConfigType::kString, false, nullptr,
       "a module to run with `python -m` (the workflow's folder is on PYTHONPATH)"},
      {"args", ConfigType::kList, false, Json::array(), "arguments after the script"},
      {"interpreter", ConfigType::kString, false, "python3",
       "the Python to run: a name found on PATH or a path"},
      {"env", ConfigType::kMap, false, nullptr,
       "environment variables added to the engine's (values are strings; numbers are "
       "stringified)"},
      {"cwd", ConfigType::kString, false, nullptr,
       "working directory; relative to the engine's working directory"},
      {"kill_grace", ConfigType::kDuration, false, "5s",
       "on cancel or timeout, how long after SIGTERM before SIGKILL"},
  };
  info.example =
      "features:\n"
      "  operator: python\n"
      "  with:\n"
      "    script: steps/features.py\n"
      "    args: [--date, \"{{ ds }}\"]\n";
  return info;
}

std::vector<fs::path> PythonOperator::CodeFiles(const Json& config,
                                                const fs::path& workflow_dir) const {
  std::string script = StringSetting(config, "script");
  if (script.empty()) return {};
  fs::path path = script;
  if (path.is_relative() && !workflow_dir.empty()) path = workflow_dir / path;
  return {path.lexically_normal()};
}

Result<ShellCommand> PythonOperator::Command(Context& ctx, const Redactor& redact) {
  const Json& config = ctx.config();
  const std::string script = StringSetting(config, "script");
  const std::string module = StringSetting(config, "module");
  if (script.empty() == module.empty()) {
    return Status::InvalidArgument(
        script.empty() ? "python: set `script` (a file) or `module` (a module to run with -m)"
                       : "python: set either `script` or `module`, not both");
  }
  const AttemptInputs* in = AttemptInputsOf(ctx);
  fs::path base = in ? in->workflow_dir() : fs::path();
  ShellCommand cmd;
  std::string interpreter = StringSetting(config, "interpreter");
  if (interpreter.empty()) interpreter = "python3";
  cmd.argv.push_back(interpreter);
  if (!script.empty()) {
    fs::path path =
        fs::path(script).is_absolute() || base.empty() ? fs::path(script) : base / script;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      return Status::InvalidArgument(fmt::format(
          "python: script '{}' not found (looked for {}; a relative script is relative to the "
          "workflow file's folder)",
          script, path.string()));
    }
    cmd.argv.push_back(path.lexically_normal().string());
    cmd.display = ShortenForDisplay(script);
  } else {
    cmd.argv.insert(cmd.argv.end(), {"-m", module});
    cmd.display = ShortenForDisplay("-m " + module);
  }
  if (config.contains("args") && !config["args"].is_null()) {
    if (!config["args"].is_array()) {
      return Status::InvalidArgument("python: args must be a list, e.g. args: [--days, 7]");
    }
    for (std::size_t i = 0; i < config["args"].size(); ++i) {
      REEL_ASSIGN_OR_RETURN(std::string arg, ArgEntry(config["args"][i], i));
      cmd.argv.push_back(std::move(arg));
    }
  }
  if (redact) cmd.display = ShortenForDisplay(redact(cmd.display));
  REEL_ASSIGN_OR_RETURN(cmd.env,
                        ParseCommandEnv("python", config.contains("env") ? config["env"] : Json()));
  if (config.contains("cwd") && config["cwd"].is_string())
    cmd.cwd = config["cwd"].get<std::string>();
  REEL_ASSIGN_OR_RETURN(
      cmd.kill_grace,
      ParseKillGrace("python", config.contains("kill_grace") ? config["kill_grace"] : Json()));

  // reel_step first on the path, then (for a module) the workflow's folder, then what the step
  // or the engine had.
  REEL_ASSIGN_OR_RETURN(fs::path helper, InstallHelper(ctx.work_dir() / "python"));
  std::string path = helper.string();
  if (!module.empty() && !base.empty()) path += ":" + base.string();
  std::string inherited;
  if (auto it = cmd.env.find("PYTHONPATH"); it != cmd.env.end()) {
    inherited = it->second;
  } else if (const char* env = std::getenv("PYTHONPATH")) {
    inherited = env;
  }
  if (!inherited.empty()) path += ":" + inherited;
  cmd.env["PYTHONPATH"] = path;
  cmd.env.emplace("PYTHONUNBUFFERED", "1");  // output reaches the log as it is written
  return cmd;
}

}  // namespace reel
