#include "engine/base/process.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include <doctest/doctest.h>

#include "tests/support/fake_context.h"

namespace reel {
namespace {

using reel::testing::ReadFile;
using reel::testing::TempDir;
using reel::testing::WriteFile;
using namespace std::chrono_literals;

ProcessSpec Spec(std::vector<std::string> argv, const TempDir& dir) {
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.log_path = dir / "out.log";
  return spec;
}

ProcessResult Run(const ProcessSpec& spec) {
  Result<Process> p = Process::Spawn(spec);
  REQUIRE_MESSAGE(p.ok(), p.status().ToString());
  CancellationToken never;
  Result<ProcessResult> r = p->Wait(never, 1s);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return *r;
}

// Waits up to 5 s for `path` to hold a complete line; returns it without the newline.
std::string AwaitLine(const std::filesystem::path& path) {
  for (int i = 0; i < 500; ++i) {
    std::string text = ReadFile(path);
    if (!text.empty() && text.back() == '\n') return text.substr(0, text.size() - 1);
    std::this_thread::sleep_for(10ms);
  }
  FAIL("no line appeared in " << path);
  return "";
}

// True once `pid` no longer runs (gone, or a zombie awaiting its reaper).
bool Gone(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
    std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
    auto close_paren = stat.rfind(')');
    if (close_paren != std::string::npos && close_paren + 2 < stat.size() &&
        stat[close_paren + 2] == 'Z') {
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

TEST_CASE("process: exit codes and signals are reported") {
  for (bool wrapped : {true, false}) {
    CAPTURE(wrapped);
    TempDir dir;
    ProcessSpec ok = Spec({"true"}, dir);
    ok.die_with_engine = wrapped;
    ProcessResult r = Run(ok);
    CHECK(r.exit_code == 0);
    CHECK(r.term_signal == 0);
    CHECK(r.success());
    CHECK(r.Describe() == "exited with code 0");

    ProcessSpec three = Spec({"sh", "-c", "exit 3"}, dir);
    three.die_with_engine = wrapped;
    r = Run(three);
    CHECK(r.exit_code == 3);
    CHECK_FALSE(r.success());
    CHECK(r.Describe() == "exited with code 3");

    ProcessSpec killed = Spec({"sh", "-c", "kill -9 $$"}, dir);
    killed.die_with_engine = wrapped;
    r = Run(killed);
    CHECK(r.term_signal == SIGKILL);
    CHECK(r.exit_code == -1);
    CHECK_FALSE(r.cancelled);
    CHECK(r.Describe() == "terminated by signal 9 (SIGKILL)");
  }
  CHECK(LiveChildCount() == 0);
}

TEST_CASE("process: stdout and stderr are appended to the log") {
  TempDir dir;
  WriteFile(dir / "out.log", "earlier line\n");
  ProcessResult r = Run(Spec({"sh", "-c", "echo to-stdout; echo to-stderr >&2"}, dir));
  CHECK(r.exit_code == 0);
  CHECK(ReadFile(dir / "out.log") == "earlier line\nto-stdout\nto-stderr\n");
}

TEST_CASE("process: inherit_env keeps variables of the engine's environment from the child") {
  TempDir dir;
  ::setenv("REEL_TEST_HIDDEN", "hidden-value", 1);
  ::setenv("REEL_TEST_KEPT", "kept-value", 1);
  ProcessSpec spec =
      Spec({"sh", "-c", "echo \"${REEL_TEST_HIDDEN:-unset} $REEL_TEST_KEPT $SET\""}, dir);
  spec.env = {{"SET", "set-value"}};
  spec.inherit_env = [](std::string_view name) { return name != "REEL_TEST_HIDDEN"; };
  ProcessResult r = Run(spec);
  ::unsetenv("REEL_TEST_HIDDEN");
  ::unsetenv("REEL_TEST_KEPT");
  CHECK(r.exit_code == 0);
  CHECK(ReadFile(dir / "out.log") == "unset kept-value set-value\n");
}

TEST_CASE("process: a NUL byte in an argument or the environment is refused, not cut short") {
  TempDir dir;
  Result<Process> arg = Process::Spawn(Spec({"echo", std::string("a\0b", 3)}, dir));
  REQUIRE_FALSE(arg.ok());
  CHECK(arg.status().code() == Status::Code::kInvalidArgument);
  CHECK(arg.status().message() ==
        "argument 1 of 'echo' holds a NUL byte, which a command line cannot carry");
  ProcessSpec spec = Spec({"true"}, dir);
  spec.env["GREETING"] = std::string("hi\0there", 8);
  Result<Process> env = Process::Spawn(spec);
  REQUIRE_FALSE(env.ok());
  CHECK(env.status().message().find("'GREETING' holds a NUL byte") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(dir / "out.log"));
}

TEST_CASE("process: the log's parent folders are created; no log means /dev/null") {
  TempDir dir;
  ProcessSpec spec = Spec({"echo", "hi"}, dir);
  spec.log_path = dir / "logs" / "run" / "step" / "1.log";
  CHECK(Run(spec).exit_code == 0);
  CHECK(ReadFile(spec.log_path) == "hi\n");
  spec.log_path.clear();
  CHECK(Run(spec).exit_code == 0);
}

TEST_CASE("process: with on_output, output is handed over in order and nothing is opened") {
  TempDir dir;
  std::string captured;
  int calls = 0;
  ProcessSpec spec = Spec({"sh", "-c", "echo one; echo two >&2; sh -c 'echo three'"}, dir);
  spec.on_output = [&](std::string_view bytes) {
    captured.append(bytes);
    ++calls;
  };
  CHECK(Run(spec).exit_code == 0);
  CHECK(captured == "one\ntwo\nthree\n");
  CHECK_FALSE(std::filesystem::exists(spec.log_path));  // on_output takes precedence

  captured.clear();
  calls = 0;
  spec.argv = {"true"};
  CHECK(Run(spec).exit_code == 0);
  CHECK(calls == 0);
}

TEST_CASE("process: on_output gets large output whole, and what the group wrote before dying") {
  TempDir dir;
  std::size_t bytes = 0;
  ProcessSpec spec = Spec({"sh", "-c",
                           "head -c 3000000 /dev/zero; (sleep 2; echo late) & echo"
                           " early"},
                          dir);
  std::string text;
  spec.on_output = [&](std::string_view chunk) {
    bytes += chunk.size();
    if (bytes > 3000000) text.append(chunk.substr(chunk.size() > 16 ? chunk.size() - 16 : 0));
  };
  CHECK(Run(spec).exit_code == 0);
  // The background writer is killed with the group when the leader exits: "late" never comes.
  CHECK(bytes == 3000000 + 6);
  CHECK(text.find("early\n") != std::string::npos);
}

TEST_CASE("process: a writer that left the group does not hold Wait for long") {
  TempDir dir;
  // The escaped process prints its pid (so that the test can stop it) and keeps the pipe open.
  ProcessSpec spec =
      Spec({"sh", "-c", "setsid sh -c 'echo $$; exec sleep 30' & sleep 0.2; echo started"}, dir);
  std::string captured;
  spec.on_output = [&](std::string_view bytes) { captured.append(bytes); };
  auto start = std::chrono::steady_clock::now();
  CHECK(Run(spec).exit_code == 0);
  CHECK(std::chrono::steady_clock::now() - start < 20s);
  // Two lines, in either order: the escaped process's pid and "started".
  std::istringstream lines(captured);
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  if (first == "started") std::swap(first, second);
  CHECK(second == "started");
  REQUIRE_FALSE(first.empty());
  REQUIRE(first.find_first_not_of("0123456789") == std::string::npos);
  ::kill(std::stoi(first), SIGKILL);
}

TEST_CASE("process: env overrides and cwd") {
  TempDir dir;
  std::filesystem::create_directories(dir / "work");
  ProcessSpec spec = Spec({"sh", "-c", "printf '%s|%s|' \"$REEL_TEST_VAR\" \"$HOME\"; pwd"}, dir);
  spec.env = {{"REEL_TEST_VAR", "a value with spaces"}, {"HOME", "/nowhere"}};
  spec.cwd = dir / "work";
  CHECK(Run(spec).exit_code == 0);
  std::string expected_cwd = std::filesystem::canonical(dir / "work").string();
  CHECK(ReadFile(dir / "out.log") == "a value with spaces|/nowhere|" + expected_cwd + "\n");
}

TEST_CASE("process: PATH from the spec's env is searched for argv[0]") {
  TempDir dir;
  WriteFile(dir / "bin" / "my-tool", "#!/bin/sh\necho tool ran with \"$1\"\n");
  std::filesystem::permissions(dir / "bin" / "my-tool", std::filesystem::perms::owner_all);
  ProcessSpec spec = Spec({"my-tool", "x y"}, dir);
  spec.env = {{"PATH", (dir / "bin").string() + ":/usr/bin:/bin"}};
  CHECK(Run(spec).exit_code == 0);
  CHECK(ReadFile(dir / "out.log") == "tool ran with x y\n");
}

TEST_CASE("process: a missing command is a clear error naming it and the PATH") {
  TempDir dir;
  ProcessSpec spec = Spec({"reel-no-such-command-xyz", "arg"}, dir);
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  Result<Process> p = Process::Spawn(spec);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().code() == Status::Code::kNotFound);
  CHECK(p.status().message().find("'reel-no-such-command-xyz'") != std::string::npos);
  CHECK(p.status().message().find("/usr/bin:/bin") != std::string::npos);

  spec.argv = {"./missing.sh"};
  p = Process::Spawn(spec);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().message().find("'./missing.sh' not found") != std::string::npos);

  WriteFile(dir / "plain.txt", "not a program");
  spec.argv = {(dir / "plain.txt").string()};
  p = Process::Spawn(spec);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().message().find("not an executable") != std::string::npos);

  spec.argv = {"true"};
  spec.cwd = dir / "no-such-dir";
  p = Process::Spawn(spec);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().message().find("no-such-dir") != std::string::npos);

  CHECK_FALSE(Process::Spawn(ProcessSpec{}).ok());
}

TEST_CASE("process: cancellation kills the whole process group, grandchildren included") {
  for (bool wrapped : {true, false}) {
    CAPTURE(wrapped);
    TempDir dir;
    ProcessSpec spec =
        Spec({"sh", "-c", "sleep 100 & echo $! > \"$1\"; wait", "sh", (dir / "pid").string()}, dir);
    spec.die_with_engine = wrapped;
    Result<Process> p = Process::Spawn(spec);
    REQUIRE(p.ok());
    pid_t grandchild = std::stoi(AwaitLine(dir / "pid"));
    REQUIRE(::kill(grandchild, 0) == 0);
    CHECK(LiveChildCount() == 1);

    CancellationToken cancel;
    cancel.Cancel();
    Result<ProcessResult> r = p->Wait(cancel, 2s);
    REQUIRE(r.ok());
    CHECK(r->cancelled);
    CHECK_FALSE(r->killed_after_grace);  // sh dies of SIGTERM
    CHECK(r->term_signal == SIGTERM);
    CHECK(r->Describe() == "terminated by signal 15 (SIGTERM), after cancellation");
    CHECK(Gone(grandchild));
    CHECK(LiveChildCount() == 0);
  }
}

TEST_CASE("process: cancellation from another thread wakes Wait promptly") {
  TempDir dir;
  Result<Process> p = Process::Spawn(Spec({"sleep", "100"}, dir));
  REQUIRE(p.ok());
  CancellationToken cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(50ms);
    cancel.Cancel();
  });
  Result<ProcessResult> r = p->Wait(cancel, 2s);
  canceller.join();
  REQUIRE(r.ok());
  CHECK(r->cancelled);
  CHECK(r->term_signal == SIGTERM);
}

TEST_CASE("process: a child ignoring SIGTERM gets SIGKILL after the grace period") {
  TempDir dir;
  ProcessSpec spec =
      Spec({"sh", "-c", "trap '' TERM; echo ready > \"$1\"; while :; do sleep 0.05; done", "sh",
            (dir / "ready").string()},
           dir);
  Result<Process> p = Process::Spawn(spec);
  REQUIRE(p.ok());
  AwaitLine(dir / "ready");
  CancellationToken cancel;
  cancel.Cancel();
  auto start = std::chrono::steady_clock::now();
  Result<ProcessResult> r = p->Wait(cancel, 200ms);
  auto waited = std::chrono::steady_clock::now() - start;
  REQUIRE(r.ok());
  CHECK(r->cancelled);
  CHECK(r->killed_after_grace);
  CHECK(r->term_signal == SIGKILL);
  CHECK(waited >= 200ms);  // the grace period was honoured before SIGKILL
}

TEST_CASE("process: the child inherits only stdin, stdout and stderr") {
  TempDir dir;
  int leaky = ::open("/dev/null", O_RDONLY);  // deliberately without O_CLOEXEC
  REQUIRE(leaky >= 0);
  ProcessResult r = Run(Spec({"sh", "-c", "ls /proc/$$/fd"}, dir));
  ::close(leaky);
  CHECK(r.exit_code == 0);
  CHECK(ReadFile(dir / "out.log") == "0\n1\n2\n");
}

TEST_CASE("process: stdin is /dev/null") {
  TempDir dir;
  ProcessResult r = Run(Spec({"sh", "-c", "cat; readlink /proc/self/fd/0"}, dir));
  CHECK(r.exit_code == 0);
  CHECK(ReadFile(dir / "out.log") == "/dev/null\n");
}

TEST_CASE("process: an argument full of shell metacharacters arrives literally") {
  TempDir dir;
  const std::string evil = "$(touch pwned); rm -rf / \"'`*?\n$HOME ${IFS} | & > pwned2 ; \\";
  ProcessSpec spec = Spec({"printf", "%s", evil}, dir);
  spec.cwd = dir.path();
  CHECK(Run(spec).exit_code == 0);
  CHECK(ReadFile(dir / "out.log") == evil);
  CHECK_FALSE(std::filesystem::exists(dir / "pwned"));
  CHECK_FALSE(std::filesystem::exists(dir / "pwned2"));
}

TEST_CASE("process: background processes do not outlive their step") {
  TempDir dir;
  ProcessResult r =
      Run(Spec({"sh", "-c", "sleep 100 & echo $! > \"$1\"", "sh", (dir / "pid").string()}, dir));
  CHECK(r.exit_code == 0);
  CHECK(Gone(std::stoi(AwaitLine(dir / "pid"))));
}

TEST_CASE("process: the signal mask and ignored signals are reset in the child") {
  TempDir dir;
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  REQUIRE(pthread_sigmask(SIG_BLOCK, &block, &old) == 0);
  struct sigaction ignore = {};
  struct sigaction old_action = {};
  ignore.sa_handler = SIG_IGN;
  sigaction(SIGUSR2, &ignore, &old_action);
  ProcessResult r = Run(Spec({"sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status"}, dir));
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  sigaction(SIGUSR2, &old_action, nullptr);
  CHECK(r.exit_code == 0);
  std::string status = ReadFile(dir / "out.log");
  auto mask_of = [&](const std::string& key) {
    auto at = status.find(key + ":\t");
    REQUIRE(at != std::string::npos);
    return std::stoull(status.substr(at + key.size() + 2, 16), nullptr, 16);
  };
  // Signals 1-31. (glibc's posix_spawn leaves its two internal real-time signals, 32 and 33,
  // ignored; no program relies on them.)
  const unsigned long long kStandard = 0xffffffffULL >> 1;
  CHECK((mask_of("SigBlk") & kStandard) == 0);
  CHECK((mask_of("SigIgn") & kStandard) == 0);
}

TEST_CASE("process: KillAllChildren signals every live process group") {
  TempDir dir;
  Result<Process> a = Process::Spawn(Spec({"sleep", "100"}, dir));
  Result<Process> b = Process::Spawn(Spec({"sleep", "100"}, dir));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(LiveChildCount() == 2);
  KillAllChildren();
  CancellationToken never;
  CHECK(a->Wait(never, 1s)->term_signal == SIGKILL);
  CHECK(b->Wait(never, 1s)->term_signal == SIGKILL);
  CHECK(LiveChildCount() == 0);
}

TEST_CASE("process: Kill signals the group; a dropped Process is killed and reaped") {
  TempDir dir;
  Result<Process> p = Process::Spawn(Spec({"sleep", "100"}, dir));
  REQUIRE(p.ok());
  p->Kill(SIGINT);
  CancellationToken never;
  CHECK(p->Wait(never, 1s)->term_signal == SIGINT);
  CHECK_FALSE(p->Wait(never, 1s).ok());  // only once

  pid_t pid = 0;
  {
    Result<Process> dropped = Process::Spawn(Spec({"sleep", "100"}, dir));
    REQUIRE(dropped.ok());
    pid = dropped->pid();
  }
  CHECK(::kill(pid, 0) != 0);  // reaped, not a zombie
  CHECK(LiveChildCount() == 0);
}

TEST_CASE("process: a guarded child outlives the thread that spawned it") {
  REQUIRE(GuardianAvailable());
  TempDir dir;
  std::optional<Process> child;
  std::thread spawner([&] {
    Result<Process> p = Process::Spawn(Spec({"sleep", "100"}, dir));
    if (p.ok()) child.emplace(std::move(*p));
  });
  spawner.join();
  REQUIRE(child.has_value());
  std::this_thread::sleep_for(200ms);
  CHECK(::kill(child->pid(), 0) == 0);  // still running: only the engine's exit ends it
  child->Kill(SIGTERM);
  CancellationToken never;
  Result<ProcessResult> r = child->Wait(never, 100ms);
  REQUIRE(r.ok());
  CHECK(r->term_signal == SIGTERM);
}

TEST_CASE("process: ReadLogTail returns the last lines after an offset") {
  TempDir dir;
  std::string text = "engine line\n";
  for (int i = 1; i <= 30; ++i) text += "line " + std::to_string(i) + "\n";
  WriteFile(dir / "log", text);
  CHECK(ReadLogTail(dir / "log", 0, 2) == "line 29\nline 30");
  CHECK(ReadLogTail(dir / "log", text.size(), 20).empty());
  CHECK(ReadLogTail(dir / "log", text.size() - 8, 20) == "line 30");
  CHECK(ReadLogTail(dir / "log", 0, 100).rfind("engine line\nline 1\n", 0) == 0);
  CHECK(ReadLogTail(dir / "log", 0, 100, 16) == "line 30");  // partial first line dropped
  CHECK(ReadLogTail(dir / "missing", 0, 5).empty());
}

TEST_CASE("process: SignalName") {
  CHECK(SignalName(SIGKILL) == "SIGKILL");
  CHECK(SignalName(SIGTERM) == "SIGTERM");
  CHECK(SignalName(200) == "signal 200");
}

}  // namespace reel
