// Spawning a child process: its environment, its program found on PATH, posix_spawn into a
// process group of its own with only fds 0-2, and its output pipe or log file.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

#include "engine/base/internal/process.h"
#include "engine/base/process.h"

extern char** environ;

namespace reel {
namespace {

namespace fs = std::filesystem;
using namespace process_internal;

bool IsExecutableFile(const fs::path& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
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

namespace process_internal {

std::vector<std::string> MergedEnvironment(const std::map<std::string, std::string>& overrides,
                                           std::string* path_var,
                                           const std::function<bool(std::string_view)>& inherit) {
  std::vector<std::string> out;
  *path_var = kDefaultPath;
  bool path_seen = false;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    auto eq = entry.find('=');
    std::string key(entry.substr(0, eq));
    if (overrides.count(key)) continue;
    if (inherit && !inherit(key)) continue;
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

}  // namespace process_internal

Result<Process> Process::Spawn(const ProcessSpec& spec) {
  if (spec.argv.empty()) return Status::InvalidArgument("cannot run an empty command");
  // The kernel takes C strings: a NUL would silently cut the text short.
  for (std::size_t i = 0; i < spec.argv.size(); ++i) {
    if (spec.argv[i].find('\0') != std::string::npos) {
      return Status::InvalidArgument(
          fmt::format("argument {} of '{}' holds a NUL byte, which a command line cannot carry", i,
                      spec.argv[0].substr(0, spec.argv[0].find('\0'))));
    }
  }
  for (const auto& [key, value] : spec.env) {
    if (key.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
      return Status::InvalidArgument(fmt::format(
          "environment variable '{}' holds a NUL byte, which the environment cannot carry",
          key.substr(0, key.find('\0'))));
    }
  }
  if (spec.cwd.native().find('\0') != std::string::npos) {
    return Status::InvalidArgument("the working directory holds a NUL byte");
  }
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
  std::vector<std::string> env = MergedEnvironment(spec.env, &path_var, spec.inherit_env);
  REEL_ASSIGN_OR_RETURN(std::string program, ResolveProgram(spec.argv[0], path_var, cwd));

  int log_fd = -1;  // the child's stdout and stderr
  int out_fd = -1;  // with on_output: the engine's end of the pipe
  if (spec.on_output) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      int err = errno;
      return Status::IoError(
          fmt::format("cannot create an output pipe for '{}': {}{}", spec.argv[0], strerror(err),
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

  // The guardian is started before the child exists, not in between. The child is marked as
  // this engine's (replacing a mark inherited from an engine that started this one).
  if (spec.die_with_engine && GuardianSocket() >= 0) {
    std::string_view key = kGuardianEnv;
    std::erase_if(env, [&](const std::string& entry) {
      return entry.size() > key.size() && entry.compare(0, key.size(), key) == 0 &&
             entry[key.size()] == '=';
    });
    env.push_back(fmt::format("{}={}", key, GuardianPid()));
  }
  SpawnRequest req{program, spec.argv, std::move(env), cwd, log_fd};

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

}  // namespace reel
