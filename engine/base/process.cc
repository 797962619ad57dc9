#include "engine/base/process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fstream>
#include <mutex>
#include <thread>
#include <unordered_map>

extern char** environ;

namespace reel {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";
constexpr milliseconds kCancelCheckInterval{50};
// Output pipes are read in chunks of kOutputChunk, at most kMaxReadsPerDrain at a time so that
// a chatty child cannot starve the exit and cancel checks.
constexpr std::size_t kOutputChunk = 64 * 1024;
constexpr int kMaxReadsPerDrain = 16;

// --- The registry of live process groups -------------------------------------------------
// A fixed array of atomics rather than a mutex-guarded set, so that KillAllChildren stays
// async-signal-safe. Slot value 0 means free.
constexpr int kMaxTrackedChildren = 4096;
std::atomic<pid_t> g_children[kMaxTrackedChildren];

int RegisterChild(pid_t pgid) {
  for (int i = 0; i < kMaxTrackedChildren; ++i) {
    pid_t expected = 0;
    if (g_children[i].compare_exchange_strong(expected, pgid)) return i;
  }
  return -1;  // untracked: more live children than slots
}

void UnregisterChild(int slot) {
  if (slot >= 0) g_children[slot].store(0);
}

// kill(-pgid): guarded so that a bogus id can never turn into kill(0) (our own group) or
// kill(-1) (everything we may signal).
void SignalGroup(pid_t pgid, int sig) {
  if (pgid > 1) ::kill(-pgid, sig);
}

// --- The guardian ---------------------------------------------------------------------------
// A process forked from the engine on the first spawn. It reads "+pgid" / "-pgid" records from a
// socket whose other end only the engine holds; when the engine goes away, however it goes, the
// kernel closes that end, the guardian sees the hang-up, and it SIGKILLs every group still
// registered. Between fork and _exit the guardian calls only async-signal-safe functions, so
// forking a multi-threaded engine is safe.

constexpr int kGuardianSlots = kMaxTrackedChildren;
constexpr int kGuardianDrainMs = 20;
pid_t g_guarded[kGuardianSlots];  // the guardian's copy; unused in the engine

[[noreturn]] void GuardianMain(int fd) {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  // Ctrl-C reaches the whole foreground group, the guardian included: the engine decides.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2}) {
    ::sigaction(sig, &ignore, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::prctl(PR_SET_NAME, "reel-guardian", 0, 0, 0);
  // Hold nothing of the engine's open: no pipe or file stays open because of the guardian.
  int null_fd = ::open("/dev/null", O_RDWR);
  for (int target = 0; target <= 2; ++target) {
    if (null_fd >= 0 && null_fd != target) ::dup2(null_fd, target);
  }
  if (fd != 3) {
    ::dup2(fd, 3);
    fd = 3;
  }
  ::syscall(SYS_close_range, 4u, ~0u, 0u);
  // Records are drained every kGuardianDrainMs without waking on each one (the poll asks
  // for hang-up only); the engine's exit wakes it at once.
  char buf[4096];
  std::size_t have = 0;
  bool engine_gone = false;
  while (!engine_gone) {
    struct pollfd pfd {
      fd, POLLRDHUP, 0
    };
    int ready = ::poll(&pfd, 1, kGuardianDrainMs);
    if (ready > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) engine_gone = true;
    for (;;) {
      ssize_t n = ::recv(fd, buf + have, sizeof buf - have, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) engine_gone = true;
      if (n <= 0) break;
      have += static_cast<std::size_t>(n);
      std::size_t used = 0;
      for (; used + sizeof(pid_t) <= have; used += sizeof(pid_t)) {
        pid_t record;
        ::memcpy(&record, buf + used, sizeof record);
        if (record > 1) {
          for (auto& slot : g_guarded) {
            if (slot == 0) {
              slot = record;
              break;
            }
          }
        } else if (record < -1) {
          for (auto& slot : g_guarded) {
            if (slot == -record) slot = 0;
          }
        }
      }
      ::memmove(buf, buf + used, have - used);
      have -= used;
    }
  }
  for (pid_t pgid : g_guarded) {
    if (pgid > 1) ::kill(-pgid, SIGKILL);
  }
  ::_exit(0);
}

// The engine's end of the guardian's socket; -1 when no guardian could be started.
int GuardianSocket() {
  static const int fd = [] {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return -1;
    pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      GuardianMain(fds[1]);
    }
    ::close(fds[1]);
    if (pid < 0) {
      ::close(fds[0]);
      return -1;
    }
    return fds[0];
  }();
  return fd;
}

// A 4-byte record in one send: atomic on a Unix stream socket, so threads need no lock.
void TellGuardian(pid_t record) {
  int fd = GuardianSocket();
  if (fd < 0) return;
  while (::send(fd, &record, sizeof record, MSG_NOSIGNAL) < 0 && errno == EINTR) {
  }
}

// --- Spawning ------------------------------------------------------------------------------

bool IsExecutableFile(const fs::path& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// The engine's environment with `overrides` applied, as "KEY=VALUE" strings.
std::vector<std::string> MergedEnvironment(const std::map<std::string, std::string>& overrides,
                                           std::string* path_var) {
  std::vector<std::string> out;
  *path_var = kDefaultPath;
  bool path_seen = false;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    std::string key(entry.substr(0, eq));
    if (overrides.count(key)) continue;
    if (key == "PATH" && eq != std::string_view::npos && !path_seen) {
      *path_var = std::string(entry.substr(eq + 1));
      path_seen = true;
    }
    out.emplace_back(entry);
  }
  for (const auto& [key, value] : overrides) {
    if (key == "PATH") *path_var = value;
    out.push_back(key + "=" + value);
  }
  return out;
}

// Where argv[0] lives, checked before spawning so that a missing command gets a message that
// names it and the PATH searched rather than a bare errno.
Result<std::string> ResolveProgram(const std::string& name, const std::string& path_var,
                                   const fs::path& cwd) {
  if (name.empty()) return Status::InvalidArgument("cannot run a command with an empty name");
  auto as_seen_by_child = [&](const fs::path& p) {
    return p.is_relative() && !cwd.empty() ? cwd / p : p;
  };
  if (name.find('/') != std::string::npos) {
    fs::path p = as_seen_by_child(name);
    std::error_code ec;
    if (!fs::exists(p, ec)) {
      return Status::NotFound(
          fmt::format("command '{}' not found: no such file ({})", name, p.string()));
    }
    if (!IsExecutableFile(p)) {
      return Status::InvalidArgument(fmt::format(
          "command '{}' is not an executable file; check its permissions (chmod +x)", name));
    }
    return name;
  }
  // Remembered per (PATH, working directory, name), as shells `hash` commands: the remembered
  // file is used while it is still an executable file, else PATH is searched again.
  static std::mutex cache_mu;
  static std::unordered_map<std::string, std::string> cache;
  std::string key = path_var + '\0' + cwd.string() + '\0' + name;
  {
    std::lock_guard<std::mutex> lock(cache_mu);
    auto hit = cache.find(key);
    if (hit != cache.end() && IsExecutableFile(as_seen_by_child(hit->second))) return hit->second;
  }
  std::string not_executable;
  std::size_t start = 0;
  while (start <= path_var.size()) {
    std::size_t end = path_var.find(':', start);
    if (end == std::string::npos) end = path_var.size();
    // An empty PATH entry means the current folder.
    const fs::path dir = end > start ? fs::path(path_var.substr(start, end - start)) : ".";
    fs::path candidate = dir / name;
    fs::path seen = as_seen_by_child(candidate);
    if (IsExecutableFile(seen)) {
      std::lock_guard<std::mutex> lock(cache_mu);
      if (cache.size() > 4096) cache.clear();
      cache[key] = candidate.string();
      return candidate.string();
    }
    std::error_code ec;
    if (not_executable.empty() && fs::is_regular_file(seen, ec)) not_executable = seen.string();
    start = end + 1;
  }
  if (!not_executable.empty()) {
    return Status::InvalidArgument(fmt::format(
        "command '{}' found at {} but it is not executable; check its permissions (chmod +x)", name,
        not_executable));
  }
  return Status::NotFound(fmt::format(
      "command '{}' not found in PATH ({}); install it, give its full path, or set PATH in the "
      "step's env",
      name, path_var));
}

struct SpawnRequest {
  std::string program;  // passed to posix_spawn as is
  std::vector<std::string> argv;
  std::vector<std::string> env;
  fs::path cwd;
  int out_fd;  // stdout and stderr
};

// posix_spawn with a new process group, a clean signal state and only fds 0-2 inherited.
// Returns the pid, or an errno value as a negative number.
pid_t SpawnRaw(const SpawnRequest& req) {
  std::vector<char*> argv;
  for (const auto& a : req.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : req.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, req.out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, req.out_fd, 2);
  if (!req.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, req.cwd.c_str());
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  // Belt and braces over O_CLOEXEC: a library opening fds without it cannot leak them either.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t mask;
  sigemptyset(&mask);
  posix_spawnattr_setsigmask(&attr, &mask);
  sigset_t defaults;
  sigfillset(&defaults);
  sigdelset(&defaults, SIGKILL);
  sigdelset(&defaults, SIGSTOP);
  posix_spawnattr_setsigdefault(&attr, &defaults);

  pid_t pid = -1;
  int rc = posix_spawn(&pid, req.program.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -rc;
}

int OpenDevNull() { return ::open("/dev/null", O_WRONLY | O_CLOEXEC); }

int PidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));  // close-on-exec by default
#else
  (void)pid;
  return -1;
#endif
}

}  // namespace

// --- Public helpers ---------------------------------------------------------------------------

void KillAllChildren(int sig) noexcept {
  int saved_errno = errno;
  for (auto& slot : g_children) {
    pid_t pgid = slot.load();
    SignalGroup(pgid, sig);
  }
  errno = saved_errno;
}

int LiveChildCount() noexcept {
  int n = 0;
  for (auto& slot : g_children) n += slot.load() > 0 ? 1 : 0;
  return n;
}

bool GuardianAvailable() { return GuardianSocket() >= 0; }

void RaiseOpenFileLimit() {
  constexpr rlim_t kCeiling = 65536;
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  rlim_t want = limit.rlim_max == RLIM_INFINITY ? kCeiling : std::min(limit.rlim_max, kCeiling);
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < want) {
    limit.rlim_cur = want;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

void BlockChildExitSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
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

std::string ReadLogTail(const fs::path& path, std::uintmax_t from_offset, int max_lines,
                        std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  std::uintmax_t size = static_cast<std::uintmax_t>(in.tellg());
  if (from_offset >= size) return "";
  std::uintmax_t start =
      std::max<std::uintmax_t>(from_offset, size > max_bytes ? size - max_bytes : 0);
  in.seekg(static_cast<std::streamoff>(start));
  std::string text(size - start, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (start > from_offset) {  // began mid-file: drop the partial first line
    auto nl = text.find('\n');
    text = nl == std::string::npos ? std::string() : text.substr(nl + 1);
  }
  while (!text.empty() && text.back() == '\n') text.pop_back();
  std::size_t pos = text.size();
  for (int lines = 0; lines < max_lines; ++lines) {
    if (pos == 0 || pos == std::string::npos) return text;
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

// --- Process ------------------------------------------------------------------------------------

Result<Process> Process::Spawn(const ProcessSpec& spec) {
  if (spec.argv.empty()) return Status::InvalidArgument("cannot run an empty command");
  fs::path cwd;
  if (!spec.cwd.empty()) {
    std::error_code ec;
    cwd = fs::absolute(spec.cwd, ec);
    if (ec || !fs::is_directory(cwd, ec)) {
      return Status::InvalidArgument(fmt::format(
          "working directory '{}' does not exist or is not a folder", spec.cwd.string()));
    }
  }
  std::string path_var;
  std::vector<std::string> env = MergedEnvironment(spec.env, &path_var);
  Result<std::string> program = ResolveProgram(spec.argv[0], path_var, cwd);
  if (!program.ok()) return program.status();

  int log_fd = -1;  // the child's stdout and stderr
  int out_fd = -1;  // with on_output: the engine's end of the pipe
  if (spec.on_output) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      int err = errno;
      return Status::IoError(fmt::format(
          "cannot create an output pipe for '{}': {}{}", spec.argv[0], strerror(err),
          err == EMFILE || err == ENFILE
              ? "; raise the open-file limit (ulimit -n) or run fewer steps at once "
                "(--max-parallel)"
              : ""));
    }
    out_fd = fds[0];
    log_fd = fds[1];
    ::fcntl(out_fd, F_SETFL, O_NONBLOCK);
  } else if (spec.log_path.empty()) {
    log_fd = OpenDevNull();
  } else {
    std::error_code ec;
    if (spec.log_path.has_parent_path()) fs::create_directories(spec.log_path.parent_path(), ec);
    log_fd = ::open(spec.log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  }
  if (log_fd < 0) {
    return Status::IoError(
        fmt::format("cannot open log file '{}': {}", spec.log_path.string(), strerror(errno)));
  }
  if (log_fd <= 2) {  // would be clobbered by the child's own 0-2 setup
    int moved = ::fcntl(log_fd, F_DUPFD_CLOEXEC, 3);
    ::close(log_fd);
    log_fd = moved;
    if (log_fd < 0) {
      if (out_fd >= 0) ::close(out_fd);
      return Status::IoError(fmt::format("cannot move log fd: {}", strerror(errno)));
    }
  }

  if (spec.die_with_engine) GuardianSocket();  // started before the child exists, not in between
  SpawnRequest req{*program, spec.argv, std::move(env), cwd, log_fd};

  auto start = std::chrono::steady_clock::now();
  pid_t pid = SpawnRaw(req);
  ::close(log_fd);
  if (pid < 0) {
    if (out_fd >= 0) ::close(out_fd);
    return Status::IoError(
        fmt::format("cannot run '{}': {}", spec.argv[0], strerror(static_cast<int>(-pid))));
  }
  if (spec.die_with_engine) TellGuardian(pid);
  return Process(pid, PidfdOpen(pid), start, spec.die_with_engine, out_fd, spec.on_output);
}

Process::Process(pid_t pid, int pidfd, std::chrono::steady_clock::time_point start,
                 bool guarded, int out_fd, std::function<void(std::string_view)> on_output)
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

Process::Output Process::ReadOutput() {
  if (out_fd_ < 0) return Output::kEnd;
  char buf[kOutputChunk];
  for (int reads = 0; reads < kMaxReadsPerDrain; ++reads) {
    ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n > 0) {
      on_output_(std::string_view(buf, static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return Output::kDrained;
    return Output::kEnd;  // every writer is gone (or the pipe failed)
  }
  return Output::kMore;
}

void Process::CloseOutput() {
  if (out_fd_ >= 0) ::close(std::exchange(out_fd_, -1));
}

void Process::DrainOutput() {
  if (ReadOutput() == Output::kEnd) CloseOutput();
}

void Process::FinishOutput() {
  // The group has been SIGKILLed, so the pipe's writers are gone or going; only a process that
  // left the group (setsid) can hold it open, and it is not waited for long.
  auto deadline = std::chrono::steady_clock::now() + kOutputDrainLimit;
  while (out_fd_ >= 0) {
    DrainOutput();
    if (out_fd_ < 0) break;
    struct pollfd pfd {
      out_fd_, POLLIN, 0
    };
    auto left = std::chrono::ceil<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    int rc = ::poll(&pfd, 1, static_cast<int>(std::min(left, kOutputQuietLimit).count()));
    if (rc == 0) break;  // quiet: a writer that escaped the group keeps it open
    if (rc < 0 && errno != EINTR) break;
  }
  if (out_fd_ >= 0) ::close(std::exchange(out_fd_, -1));
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
  Result<ProcessResult> reaped = Reap();
  if (!reaped.ok()) return reaped.status();
  reaped->cancelled = result.cancelled;
  reaped->killed_after_grace = result.killed_after_grace;
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
  // it left running, then reap (at once: it has exited).
  UnregisterChild(std::exchange(registry_slot_, -1));
  if (std::exchange(guarded_, false)) TellGuardian(-pid_);
  int status = 0;
  {
    std::lock_guard<std::mutex> lock(*mu_);
    SignalGroup(pid_, SIGKILL);
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
