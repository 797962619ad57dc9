// Child processes for steps: spawn, supervise, cancel, and never leak.
//
// Every child is started with posix_spawn (a vfork-style clone, cheap however large the engine
// is) and
//   - leads a process group of its own, so that cancel, timeout and shutdown signal the whole
//     tree it starts (kill(-pgid, sig)), grandchildren included;
//   - starts with an empty signal mask and default signal dispositions;
//   - sees only fds 0, 1, 2: stdin is /dev/null; stdout and stderr share one pipe whose bytes
//     Wait() hands to ProcessSpec::on_output, or append straight to a log file;
//   - dies with the engine: the first spawn forks a guardian, a small process that holds one
//     end of a socket of which the engine holds the other. Each child's process group is
//     registered with it when spawned and unregistered before it is reaped (after the group
//     is swept). When the engine exits, however it exits (return, crash, SIGKILL, power to the
//     process cut), the kernel closes the engine's end, and the guardian SIGKILLs every group
//     still registered, grandchildren included. The guardian leaves the engine's process group
//     and session before the first child is spawned, so a signal to the engine's whole group
//     (kill -9 -PGID, `timeout -s KILL`, a CI runner, a terminal's hang-up) does not take it
//     along. Each child also carries REEL_GUARDIAN_PID=<the guardian's pid> in its environment, by
//     which the guardian finds a child the engine spawned but died before registering. The
//     cost is one small message per spawn and one per reap; the child itself is spawned
//     directly, with no wrapper to exec first. KillAllChildren() does the same at once on an
//     orderly shutdown. Not covered: the guardian itself SIGKILLed by pid; the engine goes on
//     (and still kills its children on an orderly shutdown), but an engine killed afterwards
//     leaves them running.
//
// When the group leader exits (normally or not), whatever else is left in its process group is
// SIGKILLed before Wait returns: a step's background processes do not outlive the step (a stray
// training rank would otherwise keep holding its GPU).
//
// Thread-safety: a Process is used by one thread at a time, except Kill(), which may be called
// from any thread until Wait() returns. KillAllChildren() may be called from any thread and from
// a signal handler.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "reel/cancellation.h"
#include "reel/status.h"

namespace reel {

// Once a child's group is gone, the rest of its output is read until end of file, or until the
// pipe stays quiet for kOutputQuietLimit (a process that left the group holds it open), and
// never for longer than kOutputDrainLimit.
inline constexpr std::chrono::milliseconds kOutputQuietLimit{100};
inline constexpr std::chrono::milliseconds kOutputDrainLimit{2000};

struct ProcessSpec {
  // argv[0] is resolved through PATH (the PATH in `env` if it sets one, else the engine's);
  // a name containing '/' is used as is (relative to `cwd` when set).
  std::vector<std::string> argv;
  // Added to, or overriding, the engine's environment.
  std::map<std::string, std::string> env;
  // When set, a variable of the engine's environment reaches the child only if this returns
  // true for its name (`env` is passed regardless). Unset: the whole environment is inherited.
  std::function<bool(std::string_view name)> inherit_env;
  // The child's working directory; empty: the engine's.
  std::filesystem::path cwd;
  // When set, stdout and stderr go to one pipe, and Wait() hands what the child writes to this
  // function, in order and on the waiting thread: nothing is opened on disk for a child that
  // writes nothing. Takes precedence over log_path.
  std::function<void(std::string_view)> on_output;
  // Otherwise stdout and stderr are appended here (O_APPEND|O_CREAT, 0644; parent folders are
  // created); empty: /dev/null.
  std::filesystem::path log_path;
  // Register the child's process group with the guardian (see the file comment).
  bool die_with_engine = true;
};

struct ProcessResult {
  int exit_code = -1;                     // the exit status; -1 when terminated by a signal
  int term_signal = 0;                    // the signal that terminated the child; 0 when it exited
  bool cancelled = false;                 // the token fired and the process group was signalled
  bool killed_after_grace = false;        // it outlived SIGTERM + grace and got SIGKILL
  std::chrono::milliseconds duration{0};  // from spawn to exit

  bool success() const { return term_signal == 0 && exit_code == 0 && !cancelled; }
  // "exited with code 3", "terminated by signal 9 (SIGKILL)", with ", cancelled" appended
  // when cancelled.
  std::string Describe() const;
};

class Process {
 public:
  // Starts the child. Fails with NotFound when argv[0] cannot be found (the message names the
  // command and the PATH searched), InvalidArgument for an empty argv or a bad cwd, IoError when
  // the log cannot be opened or the spawn itself fails.
  static Result<Process> Spawn(const ProcessSpec& spec);

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // A process never waited for is SIGKILLed (with its group) and reaped.
  ~Process();

  pid_t pid() const { return pid_; }  // also the process group id; stays valid after Wait

  // Waits for the child to exit. When `cancel` fires: SIGTERM to the group, up to `grace` for
  // the child to exit, then SIGKILL to the group; the result says cancelled. Does not spin:
  // waits on a pidfd (poll) and checks the token at least every 50 ms. With on_output, output
  // is delivered while waiting, and what is left in the pipe once the group is gone is
  // delivered before Wait returns. Call once.
  Result<ProcessResult> Wait(const CancellationToken& cancel,
                             std::chrono::milliseconds grace = std::chrono::seconds(5));

  // Sends `sig` to the child's process group; a no-op once the child has been reaped.
  void Kill(int sig);

  // For an event loop that waits on the child itself, instead of calling Wait:
  //   - pidfd() becomes readable when the child exits (-1: the kernel has no pidfds; use Wait);
  //   - output_fd() (with on_output; -1 otherwise or once closed) is readable when output
  //     waits: ReadOutput() hands it over, a bounded amount per call, and returns false at end
  //     of file, after which the loop stops watching the fd and calls CloseOutput();
  //   - once pidfd() is readable, the loop stops watching it and calls Reap(), which sweeps
  //     the group, reaps the child and closes the pidfd; output still in the pipe is read
  //     after that. The loop sets `cancelled` and `killed_after_grace` in the result itself.
  int pidfd() const { return pidfd_; }
  int output_fd() const { return out_fd_; }
  enum class Output { kDrained, kMore, kEnd };  // kMore: the bounded amount was read
  Output ReadOutput();
  void CloseOutput();
  Result<ProcessResult> Reap();
  // Whether the child has exited (its pidfd is readable); an event loop's wake-ups may be
  // spurious, so it asks before reaping.
  bool HasExited() const;

 private:
  Process(pid_t pid, int pidfd, std::chrono::steady_clock::time_point start, bool guarded,
          int out_fd, std::function<void(std::string_view)> on_output);
  void Release();
  // ReadOutput, closing the pipe at end of file.
  void DrainOutput();
  // After the group is gone: the rest of the output, until end of file.
  void FinishOutput();
  Status WaitExited(const CancellationToken* cancel, std::chrono::milliseconds timeout,
                    bool* exited);

  pid_t pid_ = -1;  // also the process group id; kept after reaping for pid()
  int pidfd_ = -1;  // -1 when pidfd_open is unavailable
  int registry_slot_ = -1;
  int out_fd_ = -1;  // the read end of the output pipe (non-blocking); -1 without on_output
  std::function<void(std::string_view)> on_output_;
  bool guarded_ = false;  // registered with the guardian
  std::chrono::steady_clock::time_point start_;
  // Guards reaped_ so that Kill() on another thread never signals a reaped (reusable) pid.
  std::unique_ptr<std::mutex> mu_;
  bool reaped_ = true;  // true until spawned, and once reaped
};

// `word` as one POSIX-shell word: 'it'\''s' for it's. For scripts reel writes and commands it
// shows.
std::string ShellQuote(std::string_view word);

// The file a child started with argv[0] = `name` and this process's PATH would run; NotFound
// (naming the PATH searched) when there is none.
Result<std::string> FindProgram(const std::string& name);

// What RunToCompletion saw.
struct CapturedRun {
  int exit_code = -1;  // -1 when the child was killed by a signal
  std::string output;  // stdout and stderr together, at most the first `max_output` bytes
};
// Runs `spec` (its on_output is replaced) until it exits, for short commands whose output the
// caller reads (squeue, scontrol). An error only when it cannot be started.
Result<CapturedRun> RunToCompletion(ProcessSpec spec, std::size_t max_output = 16 << 20);

// SIGKILLs (or sends `sig` to) the process group of every child spawned by Process and not yet
// reaped. Async-signal-safe: the CLI calls it from its SIGINT/SIGTERM handling and at exit.
void KillAllChildren(int sig = 9) noexcept;

// Number of live children in the registry (for tests and diagnostics).
int LiveChildCount() noexcept;

// Blocks SIGCHLD in the calling thread and in the threads it creates afterwards. The engine
// learns of exits through pidfds and waitpid, never through the signal; left deliverable, each
// child's exit would wake some idle thread only to discard it. Children start with an empty
// signal mask, so they are not affected.
void BlockChildExitSignal();

// Raises this process's soft limit on open files to its hard limit (at most 65,536): each
// running process step holds two descriptors (a pidfd and its output pipe), and the common
// default of 1,024 would cap a wide fan-out of commands. Children only ever see fds 0-2.
void RaiseOpenFileLimit();

// Whether the guardian runs (started on first use), so that children die with the engine.
bool GuardianAvailable();

// "SIGKILL" for 9; "signal 77" for unknown numbers.
std::string SignalName(int sig);

// Up to the last `max_lines` lines of `path` from byte `from_offset` on, reading at most
// `max_bytes` from the end. Empty when the file is missing.
std::string ReadLogTail(const std::filesystem::path& path, std::uintmax_t from_offset,
                        int max_lines = 20, std::size_t max_bytes = 64 * 1024);

}  // namespace reel
