#include "operators/shell.h"

#include <filesystem>
#include <utility>

#include <fmt/format.h>

#include "engine/base/duration.h"
#include "engine/base/process.h"

namespace reel {
namespace {

// One argv entry from a (rendered) list element: strings as they are, numbers and booleans in
// their JSON spelling.
Result<std::string> ArgvEntry(const Json& v, std::size_t index) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return Status::InvalidArgument(fmt::format(
      "shell: command[{}] is {}; every element of the command list must be a string or a "
      "number (quote it to pass it literally)",
      index, v.is_null() ? "null" : (v.is_array() ? "a list" : "a mapping")));
}

}  // namespace

OperatorInfo ShellOperator::Info() {
  OperatorInfo info;
  info.name = "shell";
  info.description =
      "Runs a command (an argv list, executed directly without a shell; a string only with "
      "shell: true). Output goes to the attempt's log; a non-zero exit fails the step.";
  info.config = {
      {"command", ConfigType::kAny, true, nullptr,
       "the argv list to run, e.g. [python3, train.py, --lr, \"{{ item }}\"]; a string only "
       "with shell: true"},
      {"env", ConfigType::kMap, false, nullptr,
       "environment variables added to the engine's (values are strings; numbers are "
       "stringified)"},
      {"cwd", ConfigType::kString, false, nullptr,
       "working directory; relative to the engine's working directory"},
      {"shell", ConfigType::kBool, false, false,
       "run the string `command` with /bin/sh -c (templates are then interpreted by the shell)"},
      {"kill_grace", ConfigType::kDuration, false, "5s",
       "on cancel or timeout, how long after SIGTERM before SIGKILL"},
  };
  info.example =
      "export:\n"
      "  operator: shell\n"
      "  with:\n"
      "    command: [python3, export.py, --date, \"{{ ds }}\"]\n"
      "    env: {OMP_NUM_THREADS: 4}\n";
  return info;
}

Result<ShellCommand> ParseShellConfig(const Json& config, const Redactor& redact) {
  // What messages show of the command: secrets redacted first, then shortened, so that no part
  // of a secret is cut off where the redactor would no longer recognize it.
  auto shown = [&redact](const std::string& text) {
    return ShortenForDisplay(redact ? redact(text) : text);
  };
  ShellCommand cmd;
  bool use_shell = false;
  if (config.contains("shell") && !config["shell"].is_null()) {
    if (!config["shell"].is_boolean()) {
      return Status::InvalidArgument("shell: `shell` must be true or false");
    }
    use_shell = config["shell"].get<bool>();
  }
  const Json command = config.contains("command") ? config["command"] : Json();
  if (use_shell) {
    if (command.is_array()) {
      return Status::InvalidArgument(
          "shell: with shell: true, command must be one string for /bin/sh -c; drop "
          "`shell: true` to run the list directly, or write the command as a string");
    }
    if (!command.is_string() || command.get<std::string>().empty()) {
      return Status::InvalidArgument("shell: with shell: true, command must be a non-empty string");
    }
    cmd.argv = {"/bin/sh", "-c", command.get<std::string>()};
    cmd.display = shown(command.get<std::string>());
  } else {
    if (command.is_string()) {
      return Status::InvalidArgument(fmt::format(
          "shell: command is a string ('{}') but strings run only through /bin/sh; write it as "
          "an argv list (command: [prog, arg1, arg2]) or set `shell: true` to run it with "
          "/bin/sh -c",
          shown(command.get<std::string>())));
    }
    if (!command.is_array() || command.empty()) {
      return Status::InvalidArgument(
          "shell: command must be a non-empty argv list, e.g. command: [echo, hello]");
    }
    for (std::size_t i = 0; i < command.size(); ++i) {
      REEL_ASSIGN_OR_RETURN(std::string entry, ArgvEntry(command[i], i));
      cmd.argv.push_back(std::move(entry));
    }
    if (cmd.argv[0].empty()) {
      return Status::InvalidArgument("shell: command[0], the program to run, is empty");
    }
    cmd.display = shown(cmd.argv[0]);
  }
  Result<std::map<std::string, std::string>> env =
      ParseCommandEnv("shell", config.contains("env") ? config["env"] : Json());
  if (!env.ok()) return env.status();
  cmd.env = std::move(*env);
  if (config.contains("cwd") && !config["cwd"].is_null()) {
    if (!config["cwd"].is_string()) return Status::InvalidArgument("shell: cwd must be a path");
    cmd.cwd = config["cwd"].get<std::string>();
  }
  REEL_ASSIGN_OR_RETURN(
      std::chrono::milliseconds grace,
      ParseKillGrace("shell", config.contains("kill_grace") ? config["kill_grace"] : Json()));
  cmd.kill_grace = grace;
  return cmd;
}

Result<ShellCommand> ShellOperator::Command(Context& ctx, const Redactor& redact) {
  return ParseShellConfig(ctx.config(), redact);
}

}  // namespace reel
