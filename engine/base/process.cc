// A child process: waiting for it, cancelling it (SIGTERM, then SIGKILL after a grace period),
// reaping it and its group. Spawning, the guardian and output handling live beside it
// (process_spawn.cc, process_guardian.cc, process_output.cc).
#include "engine/base/process.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include <fmt/format.h>

#include "engine/base/internal/process.h"

namespace reel {

using namespace process_internal;
using std::chrono::milliseconds;

std::string ShellQuote(std::string_view word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

Result<std::string> FindProgram(const std::string& name) {
  std::string path_var;
  (void)MergedEnvironment({}, &path_var);
  return ResolveProgram(name, path_var, {});
}

Result<CapturedRun> RunToCompletion(ProcessSpec spec, std::size_t max_output) {
  CapturedRun run;
  spec.on_output = [&run, max_output](std::string_view bytes) {
    if (run.output.size() < max_output) {
      run.output.append(bytes.substr(0, max_output - run.output.size()));
    }
  };
  REEL_ASSIGN_OR_RETURN(Process process, Process::Spawn(spec));
  CancellationToken never;
  REEL_ASSIGN_OR_RETURN(ProcessResult result, process.Wait(never));
  run.exit_code = result.term_signal != 0 ? -1 : result.exit_code;
  return run;
}

std::string SignalName(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig);
}

std::string ProcessResult::Describe() const {
  std::string text = term_signal != 0 ? fmt::format("terminated by signal {} ({})", term_signal,
                                                    SignalName(term_signal))
                                      : fmt::format("exited with code {}", exit_code);
  if (cancelled) text += ", after cancellation";
  if (killed_after_grace) text += " (it outlived SIGTERM and the grace period)";
  return text;
}

Process::Process(pid_t pid, int pidfd, std::chrono::steady_clock::time_point start, bool guarded,
                 int out_fd, std::function<void(std::string_view)> on_output)
    : pid_(pid),
      pidfd_(pidfd),
      registry_slot_(RegisterChild(pid)),
      out_fd_(out_fd),
      on_output_(std::move(on_output)),
      guarded_(guarded),
      start_(start),
      mu_(std::make_unique<std::mutex>()),
      reaped_(false) {}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      registry_slot_(std::exchange(other.registry_slot_, -1)),
      out_fd_(std::exchange(other.out_fd_, -1)),
      on_output_(std::move(other.on_output_)),
      guarded_(std::exchange(other.guarded_, false)),
      start_(other.start_),
      mu_(std::move(other.mu_)),
      reaped_(std::exchange(other.reaped_, true)) {}

Process& Process::operator=(Process&& other) noexcept {
  if (this != &other) {
    Release();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    registry_slot_ = std::exchange(other.registry_slot_, -1);
    out_fd_ = std::exchange(other.out_fd_, -1);
    on_output_ = std::move(other.on_output_);
    guarded_ = std::exchange(other.guarded_, false);
    start_ = other.start_;
    mu_ = std::move(other.mu_);
    reaped_ = std::exchange(other.reaped_, true);
  }
  return *this;
}

Process::~Process() { Release(); }

void Process::Release() {
  if (!reaped_) {
    SignalGroup(pid_, SIGKILL);
    UnregisterChild(registry_slot_);
    if (guarded_) TellGuardian(-pid_);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  if (pidfd_ >= 0) ::close(pidfd_);
  if (out_fd_ >= 0) ::close(out_fd_);
  pidfd_ = -1;
  out_fd_ = -1;
  registry_slot_ = -1;
}

void Process::Kill(int sig) {
  if (!mu_) return;
  std::lock_guard<std::mutex> lock(*mu_);
  if (!reaped_) SignalGroup(pid_, sig);
}

// Waits up to `timeout` (negative: forever) for the child to exit, without reaping it, so that
// its pid, and thus its process group id, stays reserved until Wait reaps it.
Status Process::WaitExited(const CancellationToken* cancel, milliseconds timeout, bool* exited) {
  *exited = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto time_left = [&] {
    if (timeout.count() < 0) return -1;
    auto left = std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<milliseconds::rep>(left.count(), 0));
  };
  if (pidfd_ >= 0) {
    for (;;) {
      struct pollfd pfds[2] = {{pidfd_, POLLIN, 0}, {out_fd_, POLLIN, 0}};
      int rc = ::poll(pfds, out_fd_ >= 0 ? 2 : 1, time_left());
      if (rc < 0 && errno != EINTR) {
        return Status::Internal(fmt::format("poll on pidfd of {}: {}", pid_, strerror(errno)));
      }
      if (rc > 0 && pfds[1].fd >= 0 && pfds[1].revents != 0) DrainOutput();
      if (rc > 0 && pfds[0].revents != 0) {
        *exited = true;
        return Status::Ok();
      }
      if (rc == 0 || time_left() == 0) return Status::Ok();
    }
  }
  // No pidfd: peek with waitid(WNOWAIT), sleeping with a backoff from 1 ms up to 50 ms.
  milliseconds step{1};
  for (;;) {
    siginfo_t info{};
    if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) < 0 &&
        errno != EINTR) {
      return Status::Internal(fmt::format("waitid on {}: {}", pid_, strerror(errno)));
    }
    if (info.si_pid == pid_) {
      *exited = true;
      return Status::Ok();
    }
    auto now = std::chrono::steady_clock::now();
    if (timeout.count() >= 0 && now >= deadline) return Status::Ok();
    auto nap = step;
    if (timeout.count() >= 0) {
      nap = std::min(nap, std::chrono::ceil<milliseconds>(deadline - now));
    }
    if (out_fd_ >= 0) {
      struct pollfd pfd {
        out_fd_, POLLIN, 0
      };
      if (::poll(&pfd, 1, static_cast<int>(nap.count())) > 0) DrainOutput();
      if (cancel != nullptr && cancel->cancelled()) return Status::Ok();
    } else if (cancel != nullptr) {
      if (cancel->WaitFor(nap)) return Status::Ok();
    } else {
      std::this_thread::sleep_for(nap);
    }
    step = std::min(step * 2, kCancelCheckInterval);
  }
}

Result<ProcessResult> Process::Wait(const CancellationToken& cancel, milliseconds grace) {
  if (reaped_) return Status::Internal("Process::Wait called on a process already waited for");
  ProcessResult result;
  bool exited = false;
  while (!exited && !cancel.cancelled()) {
    REEL_RETURN_IF_ERROR(WaitExited(&cancel, kCancelCheckInterval, &exited));
  }
  if (!exited) {
    result.cancelled = true;
    SignalGroup(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    for (auto now = std::chrono::steady_clock::now(); !exited && now < deadline;
         now = std::chrono::steady_clock::now()) {
      REEL_RETURN_IF_ERROR(
          WaitExited(nullptr, std::chrono::ceil<milliseconds>(deadline - now), &exited));
    }
    if (!exited) {
      result.killed_after_grace = true;
      SignalGroup(pid_, SIGKILL);
      while (!exited) REEL_RETURN_IF_ERROR(WaitExited(nullptr, milliseconds(-1), &exited));
    }
  }
  REEL_ASSIGN_OR_RETURN(ProcessResult reaped, Reap());
  reaped.cancelled = result.cancelled;
  reaped.killed_after_grace = result.killed_after_grace;
  FinishOutput();
  return reaped;
}

bool Process::HasExited() const {
  if (pidfd_ < 0) return reaped_;
  struct pollfd pfd {
    pidfd_, POLLIN, 0
  };
  return ::poll(&pfd, 1, 0) > 0;
}

Result<ProcessResult> Process::Reap() {
  if (reaped_) return Status::Internal("Process::Reap called on a process already reaped");
  // The leader has exited but is not reaped, so its pid still names the group: sweep whatever
  // it left running, then reap (at once: it has exited). The sweep comes before the guardian
  // forgets the group: an engine killed in between leaves nothing running that the guardian
  // would not have killed.
  SignalGroup(pid_, SIGKILL);
  UnregisterChild(std::exchange(registry_slot_, -1));
  if (std::exchange(guarded_, false)) TellGuardian(-pid_);
  int status = 0;
  {
    std::lock_guard<std::mutex> lock(*mu_);
    reaped_ = true;
    while (::waitpid(pid_, &status, 0) < 0) {
      if (errno != EINTR) {
        return Status::Internal(fmt::format("waitpid on {}: {}", pid_, strerror(errno)));
      }
    }
  }
  if (pidfd_ >= 0) ::close(std::exchange(pidfd_, -1));
  ProcessResult result;
  result.duration =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start_);
  if (WIFEXITED(status)) {
    result.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.term_signal = WTERMSIG(status);
  }
  return result;
}

}  // namespace reel
