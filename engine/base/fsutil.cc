#include "engine/base/fsutil.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

namespace reel {
namespace {

namespace fs = std::filesystem;

Status ErrnoStatus(const std::string& what, const fs::path& path, int err) {
  return Status::IoError(fmt::format("{} '{}': {}", what, path.string(), std::strerror(err)));
}

std::string RandomHex(int bytes) {
  thread_local std::mt19937_64 rng{std::random_device{}() ^
                                   (static_cast<uint64_t>(::getpid()) << 32)};
  std::string out;
  for (int i = 0; i < bytes; ++i) out += fmt::format("{:02x}", static_cast<unsigned>(rng() & 0xff));
  return out;
}

}  // namespace

Status MakeDirs(const fs::path& dir) {
  // Most callers create one new folder in an existing parent: one system call.
  if (::mkdir(dir.c_str(), 0755) == 0) return Status::Ok();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return Status::IoError(
        fmt::format("cannot create directory '{}': {}", dir.string(), ec.message()));
  }
  if (!fs::is_directory(dir, ec)) {
    return Status::IoError(fmt::format("'{}' exists but is not a directory", dir.string()));
  }
  return Status::Ok();
}

Status MakePrivateDirs(const fs::path& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) {
    // The umask may have taken bits away; 0700 it is.
    if (::chmod(dir.c_str(), 0700) != 0) return ErrnoStatus("cannot chmod", dir, errno);
    return Status::Ok();
  }
  if (errno == ENOENT && dir.has_parent_path() && dir.parent_path() != dir) {
    REEL_RETURN_IF_ERROR(MakePrivateDirs(dir.parent_path()));
    return MakePrivateDirs(dir);
  }
  if (errno != EEXIST) return ErrnoStatus("cannot create directory", dir, errno);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status::IoError(fmt::format("'{}' exists but is not a directory", dir.string()));
  }
  return Status::Ok();
}

Status FsyncDir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open directory", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  // Some file systems do not support fsync on directories; that is not a write failure.
  if (rc != 0 && err != EINVAL && err != ENOTSUP) {
    return ErrnoStatus("cannot fsync directory", dir, err);
  }
  return Status::Ok();
}

Result<std::string> ReadFileToString(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(fmt::format("no file '{}'", path.string()));
    return ErrnoStatus("cannot open", path, errno);
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus("cannot read", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status WriteFileAtomic(const fs::path& path, std::string_view data, mode_t mode) {
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  REEL_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(dir));
  file.set_mode(mode);
  REEL_RETURN_IF_ERROR(file.Append(data));
  return file.Commit(path);
}

std::string TempName() {
  return fmt::format("{}{}-{}-{}", kTempPrefix, ::getpid(), RandomHex(8), HostName());
}

Result<AtomicFile> AtomicFile::Create(const fs::path& dir) {
  for (int tries = 0; tries < 8; ++tries) {
    fs::path temp = dir / TempName();
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) return AtomicFile(fd, temp);
    if (errno != EEXIST) return ErrnoStatus("cannot create temporary file", temp, errno);
  }
  return Status::IoError(fmt::format("cannot create a temporary file in '{}'", dir.string()));
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : fd_(other.fd_),
      sealed_(other.sealed_),
      mode_(other.mode_),
      temp_path_(std::move(other.temp_path_)) {
  other.fd_ = -1;
  other.temp_path_.clear();
}

AtomicFile& AtomicFile::operator=(AtomicFile&& other) noexcept {
  if (this != &other) {
    Discard();
    fd_ = other.fd_;
    sealed_ = other.sealed_;
    mode_ = other.mode_;
    temp_path_ = std::move(other.temp_path_);
    other.fd_ = -1;
    other.temp_path_.clear();
  }
  return *this;
}

AtomicFile::~AtomicFile() { Discard(); }

Status AtomicFile::Append(std::string_view data) {
  if (fd_ < 0 || sealed_) return Status::Internal("append to a closed temporary file");
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot write", temp_path_, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status AtomicFile::Seal() {
  if (sealed_) return Status::Ok();
  if (fd_ < 0) return Status::Internal("seal of a discarded temporary file");
  if (::fchmod(fd_, mode_) != 0) return ErrnoStatus("cannot chmod", temp_path_, errno);
  if (::fsync(fd_) != 0) return ErrnoStatus("cannot fsync", temp_path_, errno);
  if (::close(fd_) != 0) {
    fd_ = -1;
    return ErrnoStatus("cannot close", temp_path_, errno);
  }
  fd_ = -1;
  sealed_ = true;
  return Status::Ok();
}

Status AtomicFile::Commit(const fs::path& target) {
  REEL_RETURN_IF_ERROR(Seal());
  if (::rename(temp_path_.c_str(), target.c_str()) != 0) {
    return ErrnoStatus(fmt::format("cannot rename '{}' to", temp_path_.string()), target, errno);
  }
  temp_path_.clear();
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  return FsyncDir(dir);
}

void AtomicFile::Discard() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temp_path_.empty()) {
    ::unlink(temp_path_.c_str());
    temp_path_.clear();
  }
}

bool TempFileOwnerAlive(const std::string& file_name) {
  if (file_name.rfind(kTempPrefix, 0) != 0) return false;
  std::string rest = file_name.substr(kTempPrefix.size());
  size_t dash1 = rest.find('-');
  if (dash1 == std::string::npos) return false;
  size_t dash2 = rest.find('-', dash1 + 1);
  if (dash2 == std::string::npos) return false;
  std::string host = rest.substr(dash2 + 1);
  if (host != HostName()) return true;
  int64_t pid = 0;
  try {
    pid = std::stoll(rest.substr(0, dash1));
  } catch (...) {
    return false;
  }
  return ProcessAlive(pid);
}

const std::string& HostName() {
  static const std::string name = [] {
    char buf[256] = {};
    if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return std::string("localhost");
    return std::string(buf);
  }();
  return name;
}

bool ProcessAlive(int64_t pid) {
  if (pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
  // kill() reaches zombies too; /proc tells them apart (a process that exited and waits for
  // its parent to reap it is gone for every purpose here).
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return true;  // no /proc: trust kill()
  std::size_t close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() ||
         (stat[close + 2] != 'Z' && stat[close + 2] != 'X');
}

std::string ProcessStartId(int64_t pid) {
  if (pid <= 0) return "";
  static const std::string boot_id = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string id;
    std::getline(in, id);
    return id;
  }();
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return "";
  // Field 2, the command name, is in parentheses and may hold spaces or ')': the fields after
  // it start after the last ')'. starttime is field 22, the 20th after the name.
  std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return "";
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  // Field 3, the state: a zombie has exited, whoever has yet to reap it.
  if (!(fields >> field) || field == "Z" || field == "X") return "";
  for (int i = 1; i < 20 && fields >> field; ++i) {
  }
  if (field.empty() || fields.fail()) return "";
  return boot_id + "/" + field;
}

}  // namespace reel
