// File-system and process helpers shared by the stores.
//
// Durability contract of the writers here: a file written through AtomicFile or
// WriteFileAtomic is either absent under its final name or complete; after Commit returns OK
// its content and its directory entry have reached the disk (fsync of the file, rename, fsync
// of the directory). A crash leaves at most a temporary file, whose name starts with
// kTempPrefix, in the target's directory.
//
// All functions report failures as Status values naming the path and the OS error.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "reel/status.h"

namespace reel {

// Temporary files are named "<kTempPrefix><pid>-<random hex>-<host>" so that a cleaner can
// tell whose they are (see TempFileOwnerAlive).
inline constexpr std::string_view kTempPrefix = ".tmp-";

// Creates `dir` and its missing parents. OK if it already exists as a directory.
Status MakeDirs(const std::filesystem::path& dir);
// The same for folders only their owner may enter: each folder it creates gets mode 0700,
// set explicitly whatever the umask; folders that exist already are left as they are.
Status MakePrivateDirs(const std::filesystem::path& dir);
// Mode 0600 for a file its owner alone may read and write (a database, a log), set explicitly
// whatever the umask.
inline constexpr mode_t kPrivateFileMode = 0600;

// Flushes a directory's entries (after a create or rename in it) to the disk.
Status FsyncDir(const std::filesystem::path& dir);

// Reads a whole file; NotFound when it does not exist.
Result<std::string> ReadFileToString(const std::filesystem::path& path);

// Writes `data` to `path` atomically and durably with the given permission bits.
Status WriteFileAtomic(const std::filesystem::path& path, std::string_view data,
                       mode_t mode = 0644);

// A temporary file in a directory, written sequentially, then published under its final name
// in the same directory tree (same file system) by Commit. Destroying an uncommitted
// AtomicFile removes the temporary file. Not thread-safe; movable-only.
class AtomicFile {
 public:
  // Creates a fresh temporary file in `dir` (which must exist).
  static Result<AtomicFile> Create(const std::filesystem::path& dir);

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&& other) noexcept;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  Status Append(std::string_view data);
  // Sets the permission bits the published file will have (default 0644).
  void set_mode(mode_t mode) { mode_ = mode; }
  const std::filesystem::path& temp_path() const { return temp_path_; }

  // fsyncs and closes the file, renames it to `target` (replacing any file there) and fsyncs
  // the target's directory. `target`'s directory must exist on the same file system.
  Status Commit(const std::filesystem::path& target);
  // fsyncs and closes the file without publishing it, so that the caller may decide (e.g.
  // after hashing) whether to Commit or Discard. Commit after Seal skips the fsync.
  Status Seal();
  // Removes the temporary file. Idempotent.
  void Discard();

 private:
  AtomicFile(int fd, std::filesystem::path temp_path) : fd_(fd), temp_path_(std::move(temp_path)) {}
  int fd_ = -1;
  bool sealed_ = false;
  mode_t mode_ = 0644;
  std::filesystem::path temp_path_;
};

// A fresh name for a temporary file or folder, as AtomicFile makes them (kTempPrefix, pid,
// random hex, host), for writers that publish a whole folder by renaming it.
std::string TempName();

// True when a temporary file name (as made by AtomicFile) belongs to a process that may still
// be writing it: one on this host that is alive (this process included), or one on another
// host (whose liveness cannot be checked here). False for names not made by AtomicFile.
bool TempFileOwnerAlive(const std::string& file_name);

// The host name of this machine ("localhost" if it cannot be read).
const std::string& HostName();
// Whether a process with this pid exists on this host (EPERM counts as alive; a zombie, which
// has exited but is not reaped yet, does not).
bool ProcessAlive(int64_t pid);
// Who a pid is on this host: "BOOT_ID/START_TICKS" (the kernel's boot id and the process's
// start time in clock ticks since boot, from /proc), so that a pid reused by another process,
// or a pid from before a reboot, reads differently. Empty when no such process exists or /proc
// cannot tell.
std::string ProcessStartId(int64_t pid);

}  // namespace reel
