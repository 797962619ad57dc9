#include "engine/schedule/daemon_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace reel {

Result<std::unique_ptr<ServeLock>> ServeLock::Acquire(const std::filesystem::path& home) {
  const std::filesystem::path path = home / "serve.lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IoError("cannot open '" + path.string() + "': " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string holder;
    char buf[64];
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n > 0) {
      buf[n] = '\0';
      holder = std::string(buf, static_cast<size_t>(n));
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    }
    ::close(fd);
    if (err == EWOULDBLOCK) {
      std::string who = holder.empty() ? "another process" : "pid " + holder;
      return Status::Conflict("another `reel serve` (" + who + ") is already serving home '" +
                              home.string() + "'; stop it first (kill -TERM " +
                              (holder.empty() ? "PID" : holder) +
                              ") or give this one another --home");
    }
    return Status::IoError("cannot lock '" + path.string() + "': " + std::strerror(err));
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    int err = errno;
    ::close(fd);
    return Status::IoError("cannot write '" + path.string() + "': " + std::strerror(err));
  }
  return std::unique_ptr<ServeLock>(new ServeLock(fd));
}

ServeLock::~ServeLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace reel
