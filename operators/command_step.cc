#include "operators/command_step.h"

#include <filesystem>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "engine/base/duration.h"
#include "engine/exec/process_protocol.h"

namespace reel {
namespace {

constexpr std::size_t kDisplayLimit = 80;
constexpr int kTailLines = 20;

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
    out += ShellQuote(arg);
  }
  return out;
}

}  // namespace

std::string ShortenForDisplay(std::string text) {
  if (text.size() > kDisplayLimit) text = text.substr(0, kDisplayLimit - 3) + "...";
  return text;
}

Result<std::string> ParseCommandArgument(std::string_view op, std::string_view where,
                                         const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return Status::InvalidArgument(fmt::format(
      "{}: {} is {}; every element of the list must be a string or a number (quote it to pass "
      "it literally)",
      op, where, v.is_null() ? "null" : (v.is_array() ? "a list" : "a mapping")));
}

Result<std::map<std::string, std::string>> ParseCommandEnv(std::string_view op, const Json& env) {
  std::map<std::string, std::string> out;
  if (env.is_null()) return out;
  if (!env.is_object()) {
    return Status::InvalidArgument(fmt::format(
        "{}: env must be a mapping of variable names to strings, e.g. env: {{LANG: C.UTF-8}}", op));
  }
  for (const auto& [key, value] : env.items()) {
    if (key.empty() || key.find('=') != std::string::npos) {
      return Status::InvalidArgument(fmt::format(
          "{}: env key '{}' is not a valid variable name (it must be non-empty, without '=')", op,
          key));
    }
    if (value.is_string()) {
      out[key] = value.get<std::string>();
    } else if (value.is_number()) {
      out[key] = value.dump();
    } else {
      return Status::InvalidArgument(fmt::format(
          "{}: env.{} must be a string or a number, not {}; quote it (e.g. {}: \"{}\")", op, key,
          value.is_boolean() ? "a boolean" : (value.is_null() ? "null" : "a list or mapping"), key,
          value.is_boolean() ? value.dump() : "..."));
    }
  }
  return out;
}

Result<std::chrono::milliseconds> ParseKillGrace(std::string_view op, const Json& v) {
  if (v.is_null()) return std::chrono::milliseconds(5000);
  if (v.is_number()) {
    double seconds = v.get<double>();
    if (seconds < 0) return Status::InvalidArgument(fmt::format("{}: kill_grace must be >= 0", op));
    return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
  }
  if (v.is_string()) {
    Result<Millis> d = ParseDuration(v.get<std::string>());
    if (!d.ok()) {
      return Status::InvalidArgument(fmt::format("{}: kill_grace: {}", op, d.status().message()));
    }
    return *d;
  }
  return Status::InvalidArgument(
      fmt::format("{}: kill_grace must be a duration such as 5s or 500ms", op));
}

// One attempt: the command spawned with the protocol's channels, its output copied to the log
// after a first line naming the command (written with the first output, so that a command that
// succeeds without writing anything leaves no log; its exit code is in the task's outputs).
class CommandAttempt {
 public:
  explicit CommandAttempt(Context& ctx) : ctx_(ctx) {}

  Status Start(const std::function<Result<ShellCommand>(Context&, const Redactor&)>& command) {
    const AttemptSecrets* secrets = AttemptSecretsOf(ctx_);
    Redactor redact;
    if (secrets) redact = [secrets](std::string_view text) { return secrets->Redact(text); };
    REEL_ASSIGN_OR_RETURN(ShellCommand cmd, command(ctx_, redact));
    cmd_ = std::move(cmd);
    REEL_ASSIGN_OR_RETURN(StepChannels channels, PrepareStepChannels(ctx_));
    channels_ = std::move(channels);
    ProcessSpec spec;
    spec.argv = cmd_.argv;
    spec.env = cmd_.env;
    // The protocol's variables win over the step's own.
    for (auto& [name, value] : StepEnvironment(ctx_, *channels_)) spec.env[name] = value;
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
      if (ec) return Status::InvalidArgument("cwd '" + cmd_.cwd + "': " + ec.message());
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
    if (result.success()) {
      // What the command handed back is published only now, and only whole.
      Status published = PublishStepChannels(ctx_, *channels_);
      ctx_.SetOutput("exit_code", exit_code);
      if (!published.ok()) {
        Announce();
        return published;
      }
      if (announced_) {
        ctx_.Info("command '{}' exited with code 0 after {} ms", cmd_.display,
                  result.duration.count());
      }
      return Status::Ok();
    }
    ctx_.SetOutput("exit_code", exit_code);
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
  std::optional<StepChannels> channels_;
  std::string header_;
  std::optional<Process> process_;
  bool announced_ = false;
  std::uintmax_t log_offset_ = 0;  // where this attempt's command output starts in the log
};

CommandStep::CommandStep() = default;
CommandStep::~CommandStep() = default;

Status CommandStep::Execute(Context& ctx) {
  CommandAttempt attempt(ctx);
  REEL_RETURN_IF_ERROR(
      attempt.Start([this](Context& c, const Redactor& redact) { return Command(c, redact); }));
  REEL_ASSIGN_OR_RETURN(ProcessResult result,
                        attempt.process().Wait(ctx.cancellation(), attempt.kill_grace()));
  return attempt.Finish(result);
}

Result<Process*> CommandStep::Start(Context& ctx) {
  attempt_ = std::make_unique<CommandAttempt>(ctx);
  REEL_RETURN_IF_ERROR(
      attempt_->Start([this](Context& c, const Redactor& redact) { return Command(c, redact); }));
  return &attempt_->process();
}

std::chrono::milliseconds CommandStep::kill_grace() const {
  return attempt_ ? attempt_->kill_grace() : std::chrono::milliseconds(5000);
}

Status CommandStep::Finish(Context&, const ProcessResult& result) {
  if (!attempt_) return Status::Internal("Finish without Start");
  return attempt_->Finish(result);
}

}  // namespace reel
