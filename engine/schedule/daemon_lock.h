// ServeLock: one `reel serve` per home. An exclusive flock(2) on <home>/serve.lock, which
// holds the pid of the process that has it. The kernel drops the lock when that process
// exits, however it exits, so a crashed daemon never leaves a stale lock behind.
#pragma once

#include <filesystem>
#include <memory>

#include "reel/status.h"

namespace reel {

class ServeLock {
 public:
  // Conflict, naming the holder's pid, when another process holds the lock; IoError when the
  // lock file cannot be opened.
  static Result<std::unique_ptr<ServeLock>> Acquire(const std::filesystem::path& home);
  ~ServeLock();  // releases the lock; the file stays
  ServeLock(const ServeLock&) = delete;
  ServeLock& operator=(const ServeLock&) = delete;

 private:
  explicit ServeLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace reel
