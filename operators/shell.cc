#include "operators/shell.h"

#include <filesystem>
#include <utility>

#include <fmt/format.h>

#include "engine/base/duration.h"
#include "engine/base/process.h"

namespace reel {
namespace {

constexpr std::size_t kDisplayLimit = 80;
constexpr int kTailLines = 20;

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

Result<std::map<std::string, std::string>> EnvFromConfig(const Json& env) {
  std::map<std::string, std::string> out;
  if (env.is_null()) return out;
  if (!env.is_object()) {
    return Status::InvalidArgument(
        "shell: env must be a mapping of variable names to strings, e.g. env: {LANG: C.UTF-8}");
  }
  for (const auto& [key, value] : env.items()) {
    if (key.empty() || key.find('=') != std::string::npos) {
      return Status::InvalidArgument(fmt::format(
          "shell: env key '{}' is not a valid variable name (it must be non-empty, without '=')",
          key));
    }
    if (value.is_string()) {
      out[key] = value.get<std::string>();
    } else if (value.is_number()) {
      out[key] = value.dump();
    } else {
      return Status::InvalidArgument(fmt::format(
          "shell: env.{} must be a string or a number, not {}; quote it (e.g. {}: \"{}\")", key,
          value.is_boolean() ? "a boolean" : (value.is_null() ? "null" : "a list or mapping"), key,
          value.is_boolean() ? value.dump() : "..."));
    }
  }
  return out;
}

Result<std::chrono::milliseconds> GraceFromConfig(const Json& v) {
  if (v.is_null()) return std::chrono::milliseconds(5000);
  if (v.is_number()) {
    double seconds = v.get<double>();
    if (seconds < 0) return Status::InvalidArgument("shell: kill_grace must be >= 0");
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  }
  if (v.is_string()) {
    Result<Millis> d = ParseDuration(v.get<std::string>());
    if (!d.ok()) return Status::InvalidArgument("shell: kill_grace: " + d.status().message());
    return *d;
  }
  return Status::InvalidArgument("shell: kill_grace must be a duration such as 5s or 500ms");
}

// For log lines: arguments quoted the way a POSIX shell would need them.
std::string QuoteForDisplay(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !arg.empty() && arg.find_first_not_of(
                                     "abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                     "-_./:=,+@%") == std::string::npos;
    if (plain) {
      out += arg;
      continue;
    }
    out += '\'';
    for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

std::string Shorten(std::string text) {
  if (text.size() > kDisplayLimit) text = text.substr(0, kDisplayLimit - 3) + "...";
  return text;
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
  auto shown = [&redact](const std::string& text) { return Shorten(redact ? redact(text) : text); };
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
      EnvFromConfig(config.contains("env") ? config["env"] : Json());
  if (!env.ok()) return env.status();
  cmd.env = std::move(*env);
  if (config.contains("cwd") && !config["cwd"].is_null()) {
    if (!config["cwd"].is_string()) return Status::InvalidArgument("shell: cwd must be a path");
    cmd.cwd = config["cwd"].get<std::string>();
  }
  REEL_ASSIGN_OR_RETURN(
      std::chrono::milliseconds grace,
      GraceFromConfig(config.contains("kill_grace") ? config["kill_grace"] : Json()));
  cmd.kill_grace = grace;
  return cmd;
}

// One attempt: the command parsed and spawned, its output copied to the log after a first line
// naming the command (written with the first output, so that a command that succeeds without
// writing anything leaves no log file; its exit code is in the task's outputs).
class ShellAttempt {
 public:
  explicit ShellAttempt(Context& ctx) : ctx_(ctx) {}

  Status Start() {
    const AttemptSecrets* secrets = AttemptSecretsOf(ctx_);
    Redactor redact;
    if (secrets) redact = [secrets](std::string_view text) { return secrets->Redact(text); };
    REEL_ASSIGN_OR_RETURN(ShellCommand cmd, ParseShellConfig(ctx_.config(), redact));
    cmd_ = std::move(cmd);
    ProcessSpec spec;
    spec.argv = cmd_.argv;
    spec.env = cmd_.env;
    // Of the engine's secret variables, the child gets only those the step references.
    spec.inherit_env = [secrets](std::string_view name) {
      return !name.starts_with(kSecretEnvPrefix) ||
             (secrets && secrets->secret_variables().count(std::string(name)) > 0);
    };
    // The header names the command with each argument redacted before it is quoted (quoting
    // changes a secret's spelling).
    std::vector<std::string> shown_argv = spec.argv;
    if (redact) {
      for (auto& arg : shown_argv) arg = redact(arg);
    }
    if (!cmd_.cwd.empty()) {
      std::error_code ec;
      spec.cwd = std::filesystem::absolute(cmd_.cwd, ec);  // the engine's working directory
      if (ec) return Status::InvalidArgument("shell: cwd '" + cmd_.cwd + "': " + ec.message());
    }
    header_ = fmt::format("running: {}{}", QuoteForDisplay(shown_argv),
                          spec.cwd.empty() ? "" : " (in " + spec.cwd.string() + ")");
    spec.on_output = [this](std::string_view bytes) {
      Announce();
      ctx_.WriteOutput(bytes);
    };
    Result<Process> process = Process::Spawn(spec);
    if (!process.ok()) {
      Announce();
      return process.status();  // names the command and what to fix
    }
    process_.emplace(std::move(*process));
    return Status::Ok();
  }

  Process& process() { return *process_; }
  std::chrono::milliseconds kill_grace() const { return cmd_.kill_grace; }

  Status Finish(const ProcessResult& result) {
    int exit_code = result.term_signal != 0 ? 128 + result.term_signal : result.exit_code;
    ctx_.SetOutput("exit_code", exit_code);
    if (result.success()) {
      if (announced_) {
        ctx_.Info("command '{}' exited with code 0 after {} ms", cmd_.display,
                  result.duration.count());
      }
      return Status::Ok();
    }
    Announce();
    std::string what = fmt::format("command '{}' {}", cmd_.display, result.Describe());
    if (result.cancelled) return Status::Cancelled(what);
    std::string tail = ReadLogTail(ctx_.log_path(), log_offset_, kTailLines);
    if (!tail.empty()) what += fmt::format("; last lines of its output:\n{}", tail);
    return Status::Failed(what);
  }

 private:
  void Announce() {
    if (std::exchange(announced_, true)) return;
    ctx_.Info("{}", header_);
    // After the header: a failure's tail quotes the command's own output, not reel's line.
    std::error_code ec;
    log_offset_ = std::filesystem::file_size(ctx_.log_path(), ec);
    if (ec) log_offset_ = 0;
  }

  Context& ctx_;
  ShellCommand cmd_;
  std::string header_;
  std::optional<Process> process_;
  bool announced_ = false;
  std::uintmax_t log_offset_ = 0;  // where this attempt's command output starts in the log
};

ShellOperator::ShellOperator() = default;
ShellOperator::~ShellOperator() = default;

Status ShellOperator::Execute(Context& ctx) {
  ShellAttempt attempt(ctx);
  REEL_RETURN_IF_ERROR(attempt.Start());
  REEL_ASSIGN_OR_RETURN(ProcessResult result,
                        attempt.process().Wait(ctx.cancellation(), attempt.kill_grace()));
  return attempt.Finish(result);
}

Result<Process*> ShellOperator::Start(Context& ctx) {
  attempt_ = std::make_unique<ShellAttempt>(ctx);
  REEL_RETURN_IF_ERROR(attempt_->Start());
  return &attempt_->process();
}

std::chrono::milliseconds ShellOperator::kill_grace() const {
  return attempt_ ? attempt_->kill_grace() : std::chrono::milliseconds(5000);
}

Status ShellOperator::Finish(Context&, const ProcessResult& result) {
  if (!attempt_) return Status::Internal("shell: Finish without Start");
  return attempt_->Finish(result);
}

}  // namespace reel
