#include "operators/torch_train_ranks.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/template/template.h"  // kSecretEnvPrefix

extern char** environ;

namespace reel {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kPeerFailedExitCode = 3;  // trainer/train_rank.h: a collective failed
// How long a peer failure waits for the rank that caused it to exit on its own.
constexpr std::chrono::seconds kCauseGrace{3};
constexpr std::size_t kTailLines = 20;
constexpr std::size_t kMaxLineBytes = 16 * 1024;
constexpr auto kPollInterval = std::chrono::milliseconds(100);
constexpr auto kDrainLimit = std::chrono::seconds(2);

struct Rank {
  int index = 0;
  pid_t pid = -1;
  int fd = -1;                   // read end of the rank's output pipe; -1 once at EOF
  std::string partial;           // an incomplete last line
  std::deque<std::string> tail;  // the last lines, for the failure message
  bool exited = false;
  int wait_status = 0;
  bool signalled_by_us = false;
};

std::string Errno(const char* what) { return fmt::format("{}: {}", what, std::strerror(errno)); }

void EmitLine(Context& ctx, Rank& rank, std::string line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
  LogLevel level = LogLevel::kInfo;
  if (line.rfind("error:", 0) == 0) level = LogLevel::kError;
  if (line.rfind("warning:", 0) == 0) level = LogLevel::kWarn;
  if (rank.index < 0) {
    ctx.Log(level, fmt::format("[srun] {}", line));
  } else {
    ctx.Log(level, fmt::format("[rank {}] {}", rank.index, line));
  }
  rank.tail.push_back(std::move(line));
  if (rank.tail.size() > kTailLines) rank.tail.pop_front();
}

// Reads what is available; closes the fd at EOF.
void ReadOutput(Context& ctx, Rank& rank) {
  char buf[8192];
  while (rank.fd >= 0) {
    ssize_t n = ::read(rank.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      ::close(rank.fd);
      rank.fd = -1;
      if (!rank.partial.empty()) EmitLine(ctx, rank, std::move(rank.partial));
      rank.partial.clear();
      return;
    }
    rank.partial.append(buf, static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (std::size_t nl; (nl = rank.partial.find('\n', start)) != std::string::npos;
         start = nl + 1) {
      EmitLine(ctx, rank, rank.partial.substr(start, nl - start));
    }
    rank.partial.erase(0, start);
    if (rank.partial.size() > kMaxLineBytes) {
      EmitLine(ctx, rank, std::move(rank.partial));
      rank.partial.clear();
    }
  }
}

Status Spawn(const RankJob& job, Rank& rank, pid_t group) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::IoError(Errno("torch_train: pipe"));
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  sigset_t empty, all;
  sigemptyset(&empty);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, group);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<std::string> args = {
      job.worker.string(),        "--config",     job.config.string(),       "--rank",
      std::to_string(rank.index), "--parent-pid", std::to_string(::getpid())};
  if (!job.launcher.empty()) {
    args = job.launcher;
    args.insert(args.end(), {job.worker.string(), "--config", job.config.string()});
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The ranks use no secret, so none of the engine's REEL_SECRET_* variables reaches them.
  std::vector<char*> envp;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!std::string_view(*e).starts_with(kSecretEnvPrefix)) envp.push_back(*e);
  }
  envp.push_back(nullptr);
  int rc =
      job.launcher.empty()
          ? posix_spawn(&rank.pid, job.worker.c_str(), &actions, &attr, argv.data(), envp.data())
          : posix_spawnp(&rank.pid, args[0].c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    rank.pid = -1;
    return Status::IoError(
        fmt::format("torch_train: cannot start {}: {}", args[0], std::strerror(rc)));
  }
  rank.fd = fds[0];
  ::fcntl(rank.fd, F_SETFL, ::fcntl(rank.fd, F_GETFL) | O_NONBLOCK);
  return Status::Ok();
}

void Signal(std::vector<Rank>& ranks, int sig) {
  for (Rank& r : ranks) {
    // Not yet reaped, so the pid is still ours.
    if (r.pid > 0 && !r.exited) {
      ::kill(r.pid, sig);
      r.signalled_by_us = true;
    }
  }
}

bool Failed(const Rank& r) { return !WIFEXITED(r.wait_status) || WEXITSTATUS(r.wait_status) != 0; }
bool PeerFailure(const Rank& r) {
  return WIFEXITED(r.wait_status) && WEXITSTATUS(r.wait_status) == kPeerFailedExitCode;
}

std::string DescribeExit(const Rank& r) {
  if (WIFEXITED(r.wait_status))
    return fmt::format("exited with code {}", WEXITSTATUS(r.wait_status));
  int sig = WTERMSIG(r.wait_status);
  return fmt::format("was killed by signal {} ({})", sig, strsignal(sig));
}

std::string LastErrors(const Rank& r) {
  std::vector<std::string> errors;
  for (const auto& line : r.tail) {
    if (line.rfind("error:", 0) == 0) errors.push_back(line.substr(6));
  }
  if (errors.empty()) {
    std::size_t n = std::min<std::size_t>(r.tail.size(), 5);
    errors.assign(r.tail.end() - static_cast<std::ptrdiff_t>(n), r.tail.end());
  }
  std::string out;
  for (auto& e : errors) {
    std::size_t start = e.find_first_not_of(' ');
    out += "\n  " + (start == std::string::npos ? e : e.substr(start));
  }
  return out.empty() ? "\n  (the rank printed nothing)" : out;
}

}  // namespace

Result<int> PickFreeLocalPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError(Errno("torch_train: socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    Status s = Status::IoError(Errno("torch_train: cannot find a free port on 127.0.0.1"));
    ::close(fd);
    return s;
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

Status RunRanks(Context& ctx, const RankJob& job) {
  // With a launcher, one process (shown as rank -1) stands for all of them.
  const int processes = job.launcher.empty() ? job.world_size : 1;
  std::vector<Rank> ranks(static_cast<std::size_t>(processes));
  Status spawn_error;
  for (int i = 0; i < processes; ++i) {
    ranks[i].index = job.launcher.empty() ? i : -1;
    spawn_error = Spawn(job, ranks[i], i == 0 ? 0 : ranks[0].pid);
    if (!spawn_error.ok()) {
      ranks.resize(static_cast<std::size_t>(i));
      break;
    }
  }

  const Rank* failed = nullptr;  // the rank whose error fails the job
  bool cancelled = false;
  bool killing = !spawn_error.ok();
  if (killing) Signal(ranks, SIGKILL);
  Clock::time_point kill_deadline = Clock::now() + job.kill_grace;
  std::optional<Clock::time_point> drain_deadline;
  std::optional<Clock::time_point> cause_deadline;
  while (true) {
    std::vector<pollfd> fds;
    std::vector<Rank*> owners;
    for (Rank& r : ranks) {
      if (r.fd >= 0) {
        fds.push_back({r.fd, POLLIN, 0});
        owners.push_back(&r);
      }
    }
    if (!fds.empty()) {
      ::poll(fds.data(), fds.size(), static_cast<int>(kPollInterval.count()));
      for (std::size_t i = 0; i < fds.size(); ++i) {
        if (fds[i].revents != 0) ReadOutput(ctx, *owners[i]);
      }
    } else {
      ctx.cancellation().WaitFor(kPollInterval / 2);
    }

    bool all_exited = true;
    for (Rank& r : ranks) {
      if (!r.exited && ::waitpid(r.pid, &r.wait_status, WNOHANG) == r.pid) {
        r.exited = true;
        ReadOutput(ctx, r);
        bool own_failure = Failed(r) && !(r.signalled_by_us && !WIFEXITED(r.wait_status));
        if (own_failure && (failed == nullptr || (PeerFailure(*failed) && !PeerFailure(r)))) {
          failed = &r;
        }
      }
      all_exited = all_exited && r.exited;
    }
    // A rank whose collective failed usually only reports that a peer died: give the peer a
    // moment to exit with its own error before stopping everyone, so that the error is named.
    bool await_cause = false;
    if (!killing && failed != nullptr && PeerFailure(*failed) && !all_exited &&
        !ctx.cancellation().cancelled()) {
      if (!cause_deadline) cause_deadline = Clock::now() + kCauseGrace;
      await_cause = Clock::now() < *cause_deadline;
    }
    if (!killing && !await_cause && (failed != nullptr || ctx.cancellation().cancelled())) {
      cancelled = failed == nullptr;  // a failure that follows a cancel is its consequence
      killing = true;
      kill_deadline = Clock::now() + job.kill_grace;
      Signal(ranks, SIGTERM);
    }
    if (killing && Clock::now() >= kill_deadline) Signal(ranks, SIGKILL);
    if (job.on_poll) job.on_poll();
    if (all_exited) {
      // A grandchild could hold a pipe open; do not wait for it forever.
      if (!drain_deadline) drain_deadline = Clock::now() + kDrainLimit;
      bool open = false;
      for (const Rank& r : ranks) open = open || r.fd >= 0;
      if (!open || Clock::now() >= *drain_deadline) break;
    }
  }
  for (Rank& r : ranks) {
    if (r.fd >= 0) ::close(r.fd);
  }

  if (!spawn_error.ok()) return spawn_error;
  if (cancelled) return Status::Cancelled("torch_train: cancelled; the ranks were stopped");
  if (failed != nullptr && failed->index < 0) {
    return Status::Failed(fmt::format("torch_train: srun of {} ranks {}:{}", job.world_size,
                                      DescribeExit(*failed), LastErrors(*failed)));
  }
  if (failed != nullptr) {
    return Status::Failed(fmt::format("torch_train: rank {} of {} {}:{}", failed->index,
                                      job.world_size, DescribeExit(*failed), LastErrors(*failed)));
  }
  return Status::Ok();
}

}  // namespace reel
