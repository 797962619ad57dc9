#include "operators/shell.h"

#include <thread>

#include <doctest/doctest.h>

#include "engine/base/process.h"
#include "engine/exec/task_context.h"
#include "tests/support/fake_context.h"

namespace reel {
namespace {

using reel::testing::FakeContext;
using reel::testing::ReadFile;
using reel::testing::TempDir;
using namespace std::chrono_literals;

Status RunShell(Context& ctx) {
  ShellOperator op;
  return op.Execute(ctx);
}

// The engine's context for one attempt of a step whose templates used `secrets`.
struct SecretAttempt {
  TempDir dir;
  ArtifactStore artifacts{dir.path()};
  std::filesystem::path log = dir / "logs" / "1.log";
  std::optional<TaskContext> ctx;

  SecretAttempt(Json config, std::vector<std::string> secrets) {
    ctx.emplace(TaskIdentity{"run", "wf", "step", "2026-01-01", Json(), -1, 1}, std::move(config),
                Json::object(), Json::object(), dir.path(), dir / "work", log, artifacts,
                std::move(secrets));
  }
  // The log once the attempt ended (output that might start a secret is held back until then).
  std::string FinalLog() {
    ctx.reset();
    return ReadFile(log);
  }
};

}  // namespace

TEST_CASE("shell: an argv list runs directly, each element one argument") {
  TempDir dir;
  FakeContext ctx(dir.path());
  const std::string evil = "$(touch pwned); rm -rf / \"'`*?";
  ctx.config_ = {{"command", Json::array({"printf", "[%s]", evil, 42, 0.5, true})},
                 {"cwd", dir.path().string()}};
  Status s = RunShell(ctx);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  CHECK(ReadFile(ctx.log_path()) == "[" + evil + "][42][0.5][true]");
  CHECK_FALSE(std::filesystem::exists(dir / "pwned"));
  CHECK(ctx.outputs["exit_code"] == 0);
  REQUIRE_FALSE(ctx.log_lines.empty());
  CHECK(ctx.log_lines[0].find("running: printf") == 0);
}

TEST_CASE("shell: shell: true runs a string with /bin/sh -c") {
  TempDir dir;
  FakeContext ctx(dir.path());
  ctx.config_ = {{"command", "echo one && echo $((40 + 2)) | tr 4 X"}, {"shell", true}};
  Status s = RunShell(ctx);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  CHECK(ReadFile(ctx.log_path()) == "one\nX2\n");
  CHECK(ctx.outputs["exit_code"] == 0);
}

TEST_CASE("shell: a string command without shell: true is rejected with a hint") {
  TempDir dir;
  FakeContext ctx(dir.path());
  ctx.config_ = {{"command", "echo hi; touch pwned"}};
  Status s = RunShell(ctx);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("shell: true") != std::string::npos);
  CHECK(s.message().find("argv list") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "pwned"));
  CHECK_FALSE(std::filesystem::exists(ctx.log_path()));

  ctx.config_ = {{"command", Json::array({"echo", "hi"})}, {"shell", true}};
  s = RunShell(ctx);
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("one string") != std::string::npos);
}

TEST_CASE("shell: malformed configs say what to fix") {
  auto error_of = [](Json config) {
    Result<ShellCommand> r = ParseShellConfig(config);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    return r.status().message();
  };
  CHECK(error_of({{"command", Json::array()}}).find("non-empty argv list") != std::string::npos);
  CHECK(error_of({{"command", Json::array({"echo", Json::object()})}}).find("command[1]") !=
        std::string::npos);
  CHECK(error_of({{"command", Json::array({"env"})}, {"env", {{"DEBUG", true}}}})
            .find("env.DEBUG must be a string") != std::string::npos);
  CHECK(error_of({{"command", Json::array({"env"})}, {"env", {{"A=B", "x"}}}})
            .find("not a valid variable name") != std::string::npos);
  CHECK(error_of({{"command", Json::array({"true"})}, {"kill_grace", "soon"}}).find("kill_grace") !=
        std::string::npos);

  Result<ShellCommand> ok = ParseShellConfig(
      {{"command", Json::array({"true"})}, {"env", {{"N", 4}, {"S", "x"}}}, {"kill_grace", 1.5}});
  REQUIRE(ok.ok());
  CHECK(ok->env.at("N") == "4");
  CHECK(ok->env.at("S") == "x");
  CHECK(ok->kill_grace == 1500ms);
  CHECK(
      ParseShellConfig({{"command", Json::array({"true"})}, {"kill_grace", "250ms"}})->kill_grace ==
      250ms);
  CHECK(ParseShellConfig({{"command", Json::array({"true"})}})->kill_grace == 5s);
}

TEST_CASE("shell: a non-zero exit fails with the code and the tail of the output") {
  TempDir dir;
  FakeContext ctx(dir.path());
  reel::testing::WriteFile(ctx.log_path(), "an earlier attempt's line\n");
  ctx.config_ = {{"command", Json::array({"sh", "-c",
                                          "i=1; while [ $i -le 30 ]; do echo out $i; "
                                          "i=$((i+1)); done; echo boom >&2; exit 7"})}};
  Status s = RunShell(ctx);
  CHECK(s.code() == Status::Code::kFailed);
  CHECK(s.message().rfind("command 'sh' exited with code 7", 0) == 0);
  CHECK(s.message().find("out 30\nboom") != std::string::npos);
  CHECK(s.message().find("out 12\n") != std::string::npos);
  CHECK(s.message().find("out 11\n") == std::string::npos);  // only the last 20 lines
  CHECK(s.message().find("earlier attempt") == std::string::npos);
  CHECK(ctx.outputs["exit_code"] == 7);
}

TEST_CASE("shell: a secret with a quote is redacted from the header, the log and the error") {
  const std::string secret = "it's-Q7secret";
  SecretAttempt a({{"command", Json::array({"sh", "-c", "echo \"got $1\"; exit 3", "sh", secret})}},
                  {secret});
  Status s = RunShell(*a.ctx);
  CHECK(s.code() == Status::Code::kFailed);
  std::string log = a.FinalLog();
  CHECK(log.find("running: sh -c 'echo \"got $1\"; exit 3' sh '***'\n") != std::string::npos);
  CHECK(log.find("got ***\n") != std::string::npos);
  CHECK(log.find("Q7secret") == std::string::npos);
  CHECK(s.message().find("Q7secret") == std::string::npos);
}

TEST_CASE("shell: a long command is redacted before it is shortened for messages") {
  // The secret straddles the 80th character, where messages cut the command.
  const std::string secret = "STRADDLING-SECRET-4f2a";
  const std::string command = "echo " + std::string(64, 'x') + " " + secret + "; exit 4";
  SecretAttempt a({{"command", command}, {"shell", true}}, {secret});
  Status s = RunShell(*a.ctx);
  CHECK(s.code() == Status::Code::kFailed);
  CHECK(s.message().rfind("command 'echo xxx", 0) == 0);
  CHECK(s.message().find("STRAD") == std::string::npos);
  CHECK(a.FinalLog().find("STRAD") == std::string::npos);

  Result<ShellCommand> parsed =
      ParseShellConfig({{"command", command}, {"shell", true}}, [&secret](std::string_view text) {
        std::string out(text);
        out.replace(out.find(secret), secret.size(), "***");
        return out;
      });
  REQUIRE(parsed.ok());
  CHECK(parsed->display == "echo " + std::string(64, 'x') + " ***; ex...");
}

TEST_CASE("shell: a step's process gets only the REEL_SECRET_ variables it references") {
  ::setenv("REEL_SECRET_shell_used", "used-value-1", 1);
  ::setenv("REEL_SECRET_shell_other", "other-value-2", 1);
  const Json config = {
      {"command", Json::array({"sh", "-c",
                               "echo \"used=${REEL_SECRET_shell_used:-unset} "
                               "other=${REEL_SECRET_shell_other:-unset} path=${PATH:+set}\""})}};
  {
    SecretAttempt a(config, {"used-value-1"});
    a.ctx->set_secret_variables({"REEL_SECRET_shell_used"});
    REQUIRE(RunShell(*a.ctx).ok());
    CHECK(a.FinalLog().find("used=*** other=unset path=set\n") != std::string::npos);
  }
  {
    // A context that is not the engine's knows no secrets: no secret variable is passed.
    TempDir dir;
    FakeContext ctx(dir.path());
    ctx.config_ = config;
    REQUIRE(RunShell(ctx).ok());
    CHECK(ReadFile(ctx.log_path()) == "used=unset other=unset path=set\n");
  }
  ::unsetenv("REEL_SECRET_shell_used");
  ::unsetenv("REEL_SECRET_shell_other");
}

TEST_CASE("shell: env values reach the command and numbers are stringified") {
  TempDir dir;
  FakeContext ctx(dir.path());
  ctx.config_ = {{"command", Json::array({"sh", "-c", "printf '%s,%s' \"$THREADS\" \"$NAME\""})},
                 {"env", {{"THREADS", 4}, {"NAME", "a b"}}}};
  REQUIRE(RunShell(ctx).ok());
  CHECK(ReadFile(ctx.log_path()) == "4,a b");
}

TEST_CASE("shell: a relative cwd resolves against the engine's working directory") {
  TempDir dir;
  FakeContext ctx(dir.path());
  auto here = std::filesystem::current_path();
  auto sub = std::filesystem::relative(dir.path(), here);
  ctx.config_ = {{"command", Json::array({"pwd"})}, {"cwd", sub.string()}};
  REQUIRE(RunShell(ctx).ok());
  CHECK(ReadFile(ctx.log_path()) == std::filesystem::canonical(dir.path()).string() + "\n");
}

TEST_CASE("shell: a missing program names itself and the PATH") {
  TempDir dir;
  FakeContext ctx(dir.path());
  ctx.config_ = {{"command", Json::array({"reel-no-such-tool"})}};
  Status s = RunShell(ctx);
  CHECK(s.code() == Status::Code::kNotFound);
  CHECK(s.message().find("'reel-no-such-tool' not found in PATH") != std::string::npos);
}

TEST_CASE("shell: cancellation stops the command and reports it") {
  TempDir dir;
  FakeContext ctx(dir.path());
  ctx.config_ = {{"command", Json::array({"sleep", "100"})}, {"kill_grace", "200ms"}};
  std::thread canceller([&] {
    std::this_thread::sleep_for(50ms);
    ctx.token.Cancel();
  });
  Status s = RunShell(ctx);
  canceller.join();
  CHECK(s.code() == Status::Code::kCancelled);
  CHECK(s.message().find("SIGTERM") != std::string::npos);
  CHECK(ctx.outputs["exit_code"] == 128 + 15);
  CHECK(LiveChildCount() == 0);
}

}  // namespace reel
