// The guardian of child processes, and the registry of live process groups.
//
// The registry is a fixed array of atomics rather than a mutex-guarded set, so that
// KillAllChildren stays async-signal-safe. The guardian is a process forked from the engine on
// the first spawn; see engine/base/process.h for what it guarantees.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "engine/base/internal/process.h"
#include "engine/base/process.h"

namespace reel {
namespace {

// Slot value 0 means free.
constexpr int kMaxTrackedChildren = 4096;
std::atomic<pid_t> g_children[kMaxTrackedChildren];

}  // namespace

namespace process_internal {

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

}  // namespace process_internal

namespace {

// A process forked from the engine on the first spawn. It reads "+pgid" / "-pgid" records from a
// socket whose other end only the engine holds; when the engine goes away, however it goes, the
// kernel closes that end, the guardian sees the hang-up, and it SIGKILLs every group still
// registered. Between fork and _exit the guardian calls only async-signal-safe functions, so
// forking a multi-threaded engine is safe.

constexpr int kGuardianSlots = kMaxTrackedChildren;
constexpr int kGuardianDrainMs = 20;
pid_t g_guarded[kGuardianSlots];  // the guardian's copy; unused in the engine

[[noreturn]] void GuardianMain(int fd) {
  // Out of the engine's process group and session first: whatever kills that group (kill -9
  // -PGID, `timeout -s KILL`, a CI runner ending a job, the hang-up of a terminal) must not
  // kill the guardian with it, or the steps, each in a group of its own, would go on running.
  // The guardian lives exactly as long as the engine's end of the socket, so it needs no other
  // tie to the engine's group. setsid fails only for a group leader, which a forked child is
  // not. Then one byte tells the engine, which waits for it before its first spawn: until the
  // guardian has run this far, a group kill would take it too.
  ::setsid();
  const char ready = 1;
  ::send(fd, &ready, 1, MSG_NOSIGNAL);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  // Signals meant for the engine are the engine's to act on; the guardian acts on its exit.
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

}  // namespace

namespace process_internal {

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
    char ready = 0;
    ssize_t n = -1;
    if (pid > 0) {
      while ((n = ::recv(fds[0], &ready, 1, 0)) < 0 && errno == EINTR) {
      }
    }
    if (n != 1) {  // no fork, or the guardian died before it left the engine's session
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

}  // namespace process_internal

using namespace process_internal;

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

}  // namespace reel
