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

struct Dirent64 {  // what getdents64 returns; glibc's readdir would allocate
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

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
// The second look for marked children (see KillMarkedGroups) waits this long.
constexpr int kGuardianSecondLookMs = 100;
pid_t g_guarded[kGuardianSlots];  // the guardian's copy; unused in the engine
pid_t g_guardian_pid = -1;        // in the engine: the guardian it forked

// Reads up to `size` - 1 bytes of `path` into `buf`, NUL-terminated; the count, or -1.
ssize_t ReadSmallFile(const char* path, char* buf, std::size_t size) {
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = ::read(fd, buf, size - 1);
  ::close(fd);
  buf[n > 0 ? n : 0] = '\0';
  return n;
}

// "/proc/" + pid + suffix into `out` (at least 64 bytes).
void ProcPath(char* out, const char* pid, const char* suffix) {
  char* p = out;
  for (const char* s : {"/proc/", pid, suffix}) {
    while (*s != '\0' && p < out + 62) *p++ = *s++;
  }
  *p = '\0';
}

// Whether /proc/PID/environ holds exactly the entry `mark` (read in chunks; any size).
bool EnvironHolds(const char* pid, const char* mark, std::size_t mark_len) {
  char path[64];
  ProcPath(path, pid, "/environ");
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  std::size_t matched = 0;  // of `mark`, in the current entry
  bool mismatch = false, found = false;
  for (ssize_t n; !found && (n = ::read(fd, buf, sizeof buf)) > 0;) {
    for (ssize_t i = 0; i < n && !found; ++i) {
      if (buf[i] == '\0') {
        found = !mismatch && matched == mark_len;
        matched = 0;
        mismatch = false;
      } else if (!mismatch && matched < mark_len && buf[i] == mark[matched]) {
        ++matched;
      } else {
        mismatch = true;
      }
    }
  }
  ::close(fd);
  return found;
}

// SIGKILLs the process group of every process in the engine's session `session` that carries
// `mark` in its environment: a child the engine spawned and died before it could register, or
// what that child started (the child itself may be gone by the time the guardian looks). A
// process that left the session (a daemon a step started with setsid) is not the step's, as it
// is not when the step ends or is cancelled.
void KillMarkedGroups(const char* mark, std::size_t mark_len, pid_t session) {
  int dir = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return;
  alignas(8) char entries[8192];
  for (long n; (n = ::syscall(SYS_getdents64, dir, entries, sizeof entries)) > 0;) {
    for (long off = 0; off < n;) {
      auto* entry = reinterpret_cast<struct Dirent64*>(entries + off);
      off += entry->d_reclen;
      const char* name = entry->d_name;
      pid_t pid = 0;
      for (const char* c = name; *c != '\0'; ++c) {
        pid = *c >= '0' && *c <= '9' && pid < 100'000'000 ? pid * 10 + (*c - '0') : -1;
        if (pid < 0) break;
      }
      if (pid <= 1 || pid == ::getpid()) continue;
      // /proc/PID/stat is "pid (comm) state ppid pgrp session ...", where comm may hold spaces
      // and parentheses, so the fields are counted from the last ')'.
      char path[64], stat[512];
      ProcPath(path, name, "/stat");
      if (ReadSmallFile(path, stat, sizeof stat) <= 0) continue;
      const char* field = nullptr;
      for (const char* c = stat; *c != '\0'; ++c) {
        if (*c == ')') field = c;
      }
      if (field == nullptr) continue;
      int spaces = 0;
      while (*field != '\0' && spaces < 3) spaces += *field++ == ' ' ? 1 : 0;
      pid_t pgrp = 0, sid = 0;
      while (*field >= '0' && *field <= '9') pgrp = pgrp * 10 + (*field++ - '0');
      if (*field == ' ') ++field;
      while (*field >= '0' && *field <= '9') sid = sid * 10 + (*field++ - '0');
      if (pgrp > 1 && sid == session && EnvironHolds(name, mark, mark_len)) {
        ::kill(-pgrp, SIGKILL);
      }
    }
  }
  ::close(dir);
}

[[noreturn]] void GuardianMain(int fd) {
  // Out of the engine's process group and session first: whatever kills that group (kill -9
  // -PGID, `timeout -s KILL`, a CI runner ending a job, the hang-up of a terminal) must not
  // kill the guardian with it, or the steps, each in a group of its own, would go on running.
  // The guardian lives exactly as long as the engine's end of the socket, so it needs no other
  // tie to the engine's group. setsid fails only for a group leader, which a forked child is
  // not. Then one byte tells the engine, which waits for it before its first spawn: until the
  // guardian has run this far, a group kill would take it too.
  const pid_t engine_session = ::getsid(0);
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
  // A child spawned just before the engine died may not be registered. It carries
  // kGuardianEnv=<this guardian's pid>, which no unrelated process can (the pid is in use).
  // Its environment may read empty for a moment while it is still in execve, hence the second
  // look.
  char mark[64] = {};
  std::size_t mark_len = 0;
  for (const char* c = process_internal::kGuardianEnv; *c != '\0';) mark[mark_len++] = *c++;
  mark[mark_len++] = '=';
  char digits[16];
  int count = 0;
  for (pid_t self = ::getpid(); self > 0; self /= 10) digits[count++] = '0' + self % 10;
  while (count > 0) mark[mark_len++] = digits[--count];
  KillMarkedGroups(mark, mark_len, engine_session);
  ::poll(nullptr, 0, kGuardianSecondLookMs);
  KillMarkedGroups(mark, mark_len, engine_session);
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
    g_guardian_pid = pid;
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

pid_t GuardianPid() { return GuardianSocket() >= 0 ? g_guardian_pid : -1; }

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
