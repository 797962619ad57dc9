#include "engine/store/artifact_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/base/sha256.h"

namespace reel {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kUriScheme = "sha256:";
constexpr size_t kCopyChunk = 1 << 20;

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Creates the shard folder if needed and makes its entry in `root` durable.
Status EnsureShard(const fs::path& root, const fs::path& shard) {
  struct stat st;
  if (::stat(shard.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::Ok();
  REEL_RETURN_IF_ERROR(MakePrivateDirs(shard));
  return FsyncDir(root);
}

// Makes every folder under `dir` (and `dir`) writable by its owner again, so that a stored or
// half-copied tree can be removed.
void MakeTreeRemovable(const fs::path& dir) {
  std::error_code ec;
  ::chmod(dir.c_str(), 0700);
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
  }
}

void RemoveTree(const fs::path& dir) {
  MakeTreeRemovable(dir);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

// One entry of a tree, in the manifest whose digest names the tree.
struct TreeEntry {
  std::string path;  // relative, '/'-separated
  bool directory = false;
  bool executable = false;
  uint64_t size = 0;
  std::string hex;  // the file's content digest
};

// The entries under `dir`, sorted by path. Symbolic links and special files are refused.
Result<std::vector<TreeEntry>> ListTree(const fs::path& dir, const std::string& name) {
  std::vector<TreeEntry> entries;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0) {
      return Status::IoError(fmt::format("cannot store artifact '{}': cannot read '{}': {}", name,
                                         it->path().string(), std::strerror(errno)));
    }
    TreeEntry entry;
    entry.path = it->path().lexically_relative(dir).generic_string();
    if (S_ISDIR(st.st_mode)) {
      entry.directory = true;
    } else if (S_ISREG(st.st_mode)) {
      entry.executable = (st.st_mode & S_IXUSR) != 0;
      entry.size = static_cast<uint64_t>(st.st_size);
    } else {
      return Status::InvalidArgument(fmt::format(
          "cannot store artifact '{}': '{}' is {}; a folder artifact holds only files and "
          "folders",
          name, it->path().string(), S_ISLNK(st.st_mode) ? "a symbolic link" : "a special file"));
    }
    entries.push_back(std::move(entry));
  }
  if (ec) {
    return Status::IoError(fmt::format("cannot store artifact '{}': cannot list '{}': {}", name,
                                       dir.string(), ec.message()));
  }
  std::sort(entries.begin(), entries.end(),
            [](const TreeEntry& a, const TreeEntry& b) { return a.path < b.path; });
  return entries;
}

// The digest that names a tree: SHA-256 of its manifest, one JSON array per entry.
std::string TreeDigest(const std::vector<TreeEntry>& entries) {
  Sha256 hash;
  hash.Update("reel tree 1\n");
  for (const auto& e : entries) {
    nlohmann::json line =
        e.directory ? nlohmann::json::array({"dir", e.path})
                    : nlohmann::json::array({"file", e.path, e.executable, e.size, e.hex});
    hash.Update(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    hash.Update("\n");
  }
  return hash.HexFinal();
}

// Copies `from` to `to` (a new file, mode `mode`), hashing the content; returns its digest.
Result<std::string> CopyHashing(const fs::path& from, const fs::path& to, mode_t mode) {
  int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return Status::IoError(
        fmt::format("cannot open '{}': {}", from.string(), std::strerror(errno)));
  int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    int err = errno;
    ::close(in);
    return Status::IoError(fmt::format("cannot create '{}': {}", to.string(), std::strerror(err)));
  }
  Sha256 hash;
  auto buf = std::make_unique<char[]>(kCopyChunk);
  Status status;
  for (;;) {
    ssize_t n = ::read(in, buf.get(), kCopyChunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status =
          Status::IoError(fmt::format("cannot read '{}': {}", from.string(), std::strerror(errno)));
      break;
    }
    if (n == 0) break;
    hash.Update(buf.get(), static_cast<size_t>(n));
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out, buf.get() + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        status = Status::IoError(
            fmt::format("cannot write '{}': {}", to.string(), std::strerror(errno)));
        break;
      }
      done += w;
    }
    if (!status.ok()) break;
  }
  if (status.ok() && (::fsync(out) != 0 || ::fchmod(out, mode) != 0)) {
    status =
        Status::IoError(fmt::format("cannot write '{}': {}", to.string(), std::strerror(errno)));
  }
  ::close(in);
  ::close(out);
  if (!status.ok()) return status;
  return hash.HexFinal();
}

}  // namespace

ArtifactStore::ArtifactStore(fs::path home) : root_(std::move(home) / "artifacts") {}

Result<std::unique_ptr<ArtifactStore>> ArtifactStore::Open(const fs::path& home) {
  auto store = std::make_unique<ArtifactStore>(home);
  REEL_RETURN_IF_ERROR(MakePrivateDirs(store->root_));
  REEL_RETURN_IF_ERROR((store->CleanTemporaries()).status());
  return store;
}

Status ArtifactStore::ValidateName(const std::string& name) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(
        fmt::format("invalid artifact name '{}': {}; use a relative name such as 'model.pt' or "
                    "'eval/report.json'",
                    name, why));
  };
  if (name.empty()) return bad("it is empty");
  if (name.size() > 255)
    return bad(fmt::format("it is {} bytes long, at most 255 are allowed", name.size()));
  if (name.front() == '/') return bad("absolute paths are not allowed");
  for (unsigned char c : name) {
    if (c == '\\') return bad("backslashes are not allowed");
    if (c < 0x20 || c == 0x7f) return bad("control characters are not allowed");
  }
  size_t start = 0;
  for (;;) {
    size_t end = name.find('/', start);
    std::string_view part = std::string_view(name).substr(
        start, end == std::string::npos ? std::string::npos : end - start);
    if (part.empty()) return bad("empty path components ('//' or a trailing '/') are not allowed");
    if (part == "." || part == "..") return bad("'.' and '..' components are not allowed");
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return Status::Ok();
}

Result<ArtifactRef> ArtifactStore::Publish(AtomicFile& temp, const std::string& name,
                                           const std::string& hex, uint64_t size) {
  fs::path shard = root_ / hex.substr(0, 2);
  fs::path target = shard / hex.substr(2);
  REEL_RETURN_IF_ERROR(EnsureShard(root_, shard));
  struct stat st;
  if (::stat(target.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == size) {
    temp.Discard();  // already stored
  } else {
    // Absent, or (after disk damage) of the wrong size: the rename replaces it atomically.
    REEL_RETURN_IF_ERROR(temp.Commit(target));
  }
  return ArtifactRef{name, UriOf(hex), size};
}

Result<ArtifactRef> ArtifactStore::Put(const std::string& name, const fs::path& file) {
  REEL_RETURN_IF_ERROR(ValidateName(name));
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) {
      return Status::NotFound(
          fmt::format("cannot store artifact '{}': no file '{}'", name, file.string()));
    }
    return Status::IoError(fmt::format("cannot store artifact '{}': cannot open '{}': {}", name,
                                       file.string(), std::strerror(err)));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat src;
  if (::fstat(fd, &src) == 0 && !S_ISREG(src.st_mode)) {
    return Status::InvalidArgument(fmt::format(
        "cannot store artifact '{}': '{}' is not a regular file (store a directory as an "
        "archive)",
        name, file.string()));
  }
  REEL_RETURN_IF_ERROR(MakePrivateDirs(root_));
  REEL_ASSIGN_OR_RETURN(AtomicFile temp, AtomicFile::Create(root_));
  temp.set_mode(0400);
  Sha256 hash;
  uint64_t size = 0;
  auto buf = std::make_unique<char[]>(kCopyChunk);
  for (;;) {
    ssize_t n = ::read(fd, buf.get(), kCopyChunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(fmt::format("cannot store artifact '{}': reading '{}': {}", name,
                                         file.string(), std::strerror(errno)));
    }
    if (n == 0) break;
    std::string_view chunk(buf.get(), static_cast<size_t>(n));
    hash.Update(chunk);
    REEL_RETURN_IF_ERROR(temp.Append(chunk));
    size += static_cast<uint64_t>(n);
  }
  REEL_RETURN_IF_ERROR(temp.Seal());
  return Publish(temp, name, hash.HexFinal(), size);
}

Result<ArtifactRef> ArtifactStore::PutBytes(const std::string& name, std::string_view data) {
  REEL_RETURN_IF_ERROR(ValidateName(name));
  REEL_RETURN_IF_ERROR(MakePrivateDirs(root_));
  std::string hex = Sha256::HexOf(data);
  // Skip the write entirely when the content is already stored.
  struct stat st;
  fs::path target = root_ / hex.substr(0, 2) / hex.substr(2);
  if (::stat(target.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_size) == data.size()) {
    return ArtifactRef{name, UriOf(hex), data.size()};
  }
  REEL_ASSIGN_OR_RETURN(AtomicFile temp, AtomicFile::Create(root_));
  temp.set_mode(0400);
  REEL_RETURN_IF_ERROR(temp.Append(data));
  REEL_RETURN_IF_ERROR(temp.Seal());
  return Publish(temp, name, hex, data.size());
}

Result<ArtifactRef> ArtifactStore::PutTree(const std::string& name, const fs::path& dir) {
  REEL_RETURN_IF_ERROR(ValidateName(name));
  REEL_ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, ListTree(dir, name));
  REEL_RETURN_IF_ERROR(MakePrivateDirs(root_));
  fs::path temp = root_ / TempName();
  if (::mkdir(temp.c_str(), 0700) != 0) {
    return Status::IoError(fmt::format("cannot store artifact '{}': cannot create '{}': {}", name,
                                       temp.string(), std::strerror(errno)));
  }
  struct TempRemover {
    fs::path dir;
    ~TempRemover() {
      if (!dir.empty()) RemoveTree(dir);
    }
  } remover{temp};
  uint64_t size = 0;
  for (auto& e : entries) {
    fs::path to = temp / e.path;
    if (e.directory) {
      if (::mkdir(to.c_str(), 0700) != 0) {
        return Status::IoError(fmt::format("cannot store artifact '{}': cannot create '{}': {}",
                                           name, to.string(), std::strerror(errno)));
      }
      continue;
    }
    Result<std::string> hex = CopyHashing(dir / e.path, to, e.executable ? 0500 : 0400);
    if (!hex.ok()) {
      return Status::IoError(
          fmt::format("cannot store artifact '{}': {}", name, hex.status().message()));
    }
    e.hex = *hex;
    size += e.size;
  }
  // Folders become read-only, deepest first, once everything in them is written.
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->directory) ::chmod((temp / it->path).c_str(), 0500);
  }
  std::string hex = TreeDigest(entries);
  fs::path shard = root_ / hex.substr(0, 2);
  fs::path target = shard / hex.substr(2);
  REEL_RETURN_IF_ERROR(EnsureShard(root_, shard));
  struct stat st;
  if (::stat(target.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return ArtifactRef{name, UriOf(hex), size};  // already stored; the remover drops the copy
  }
  REEL_RETURN_IF_ERROR(FsyncDir(temp));
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    int err = errno;
    if ((err == EEXIST || err == ENOTEMPTY) && ::stat(target.c_str(), &st) == 0 &&
        S_ISDIR(st.st_mode)) {
      return ArtifactRef{name, UriOf(hex), size};  // another writer stored it first
    }
    return Status::IoError(fmt::format("cannot store artifact '{}': cannot rename '{}' to '{}': {}",
                                       name, temp.string(), target.string(), std::strerror(err)));
  }
  remover.dir.clear();
  ::chmod(target.c_str(), 0500);
  REEL_RETURN_IF_ERROR(FsyncDir(shard));
  return ArtifactRef{name, UriOf(hex), size};
}

Result<fs::path> ArtifactStore::Path(const std::string& uri) const {
  std::string_view v(uri);
  if (v.substr(0, kUriScheme.size()) != kUriScheme || v.size() != kUriScheme.size() + 64 ||
      !IsLowerHex(v.substr(kUriScheme.size()))) {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not an artifact uri; expected 'sha256:' followed by 64 lowercase hex digits",
        uri));
  }
  std::string hex(v.substr(kUriScheme.size()));
  fs::path path = root_ / hex.substr(0, 2) / hex.substr(2);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))) {
    return Status::NotFound(
        fmt::format("artifact {} is not in the store '{}'", uri, root_.string()));
  }
  return path;
}

Status ArtifactStore::Verify(const std::string& uri) const {
  REEL_ASSIGN_OR_RETURN(fs::path path, Path(uri));
  std::string hex;
  if (fs::is_directory(path)) {
    REEL_ASSIGN_OR_RETURN(std::vector<TreeEntry> entries, ListTree(path, uri));
    for (auto& e : entries) {
      if (e.directory) continue;
      REEL_ASSIGN_OR_RETURN(e.hex, Sha256::HexOfFile(path / e.path));
    }
    hex = TreeDigest(entries);
  } else {
    REEL_ASSIGN_OR_RETURN(hex, Sha256::HexOfFile(path));
  }
  if (UriOf(hex) != uri) {
    return Status::Conflict(fmt::format(
        "artifact {} is damaged: its file '{}' now hashes to sha256:{}; rerun the step that "
        "produced it",
        uri, path.string(), hex));
  }
  return Status::Ok();
}

Result<int> ArtifactStore::CleanTemporaries() {
  std::error_code ec;
  fs::directory_iterator it(root_, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return 0;
    return Status::IoError(fmt::format("cannot list '{}': {}", root_.string(), ec.message()));
  }
  const std::string local_suffix = "-" + HostName();
  const auto now = fs::file_time_type::clock::now();
  int removed = 0;
  for (const fs::directory_entry& entry : it) {
    std::string file = entry.path().filename().string();
    if (file.rfind(kTempPrefix, 0) != 0) continue;
    bool remove = !TempFileOwnerAlive(file);
    bool local =
        file.size() >= local_suffix.size() &&
        file.compare(file.size() - local_suffix.size(), local_suffix.size(), local_suffix) == 0;
    if (!remove && !local) {
      auto mtime = entry.last_write_time(ec);
      remove = !ec && now - mtime > std::chrono::hours(24);
    }
    if (!remove) continue;
    if (entry.is_directory(ec) && !entry.is_symlink(ec)) {  // a folder artifact being copied
      RemoveTree(entry.path());
      ++removed;
    } else if (fs::remove(entry.path(), ec)) {
      ++removed;
    }
  }
  return removed;
}

}  // namespace reel
