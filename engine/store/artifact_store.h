// The content-addressed artifact store: <home>/artifacts/ab/cdef... where abcdef... is the
// SHA-256 of the content (two hex digits for the folder, the other 62 for the file name).
//
// Contract:
//   - An artifact is published atomically: streamed to a temporary file in <home>/artifacts
//     (hashing as it copies, in constant memory), fsynced, made read-only (0444), renamed to
//     its final name, and the folder fsynced. A crash leaves at most a temporary file, whose
//     name starts with kTempPrefix (engine/base/fsutil.h) and which no uri can reach;
//     CleanTemporaries removes those whose writer is gone.
//   - Identical content is stored once; storing it again only drops the temporary file.
//   - Stored files are immutable; callers must not write to the paths Path returns.
//   - A folder is stored as one artifact (PutTree): a read-only copy of the folder, addressed by
//     the SHA-256 of a manifest that lists each entry's relative path, kind, executable bit,
//     size and content digest (so equal trees share one copy, as files do). It is copied into
//     a temporary folder, then renamed into place, like a file.
//   - Names are labels recorded with a run (ArtifactRef::name); they do not affect where the
//     content lives, but must be safe relative names (ValidateName).
//
// Thread- and process-safe: any number of threads and processes may Put into the same home.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "engine/base/fsutil.h"
#include "reel/artifact.h"
#include "reel/status.h"

namespace reel {

class ArtifactStore {
 public:
  // Does no I/O; the folders are created on the first Put. Prefer Open.
  explicit ArtifactStore(std::filesystem::path home);
  // Creates <home>/artifacts and cleans up temporary files left by crashed writers.
  static Result<std::unique_ptr<ArtifactStore>> Open(const std::filesystem::path& home);

  // Copies `file` into the store. NotFound if `file` does not exist.
  Result<ArtifactRef> Put(const std::string& name, const std::filesystem::path& file);
  Result<ArtifactRef> PutBytes(const std::string& name, std::string_view data);
  // Copies the folder `dir` into the store as one artifact whose size is the sum of its files'.
  // Symbolic links and special files in it are refused (InvalidArgument naming them).
  Result<ArtifactRef> PutTree(const std::string& name, const std::filesystem::path& dir);

  // The read-only local file (or folder, for a tree) of a "sha256:<64 hex>" uri. InvalidArgument
  // for a malformed uri, NotFound when the content is not in this store.
  Result<std::filesystem::path> Path(const std::string& uri) const;
  bool Contains(const std::string& uri) const { return Path(uri).ok(); }
  // Re-hashes a stored artifact; Conflict if its content no longer matches its uri.
  Status Verify(const std::string& uri) const;

  // Removes temporary files whose writer process has exited (or, for writers on another
  // host, that are older than a day). Returns how many it removed.
  Result<int> CleanTemporaries();

  // A name is a relative path of at most 255 bytes: not empty, no leading '/', no "." or ".."
  // or empty components, no backslash, NUL or other control characters.
  static Status ValidateName(const std::string& name);
  // "sha256:<hex>" for a 64-digit lowercase hex digest.
  static std::string UriOf(const std::string& hex) { return "sha256:" + hex; }

  const std::filesystem::path& root() const { return root_; }

 private:
  // Publishes a sealed temporary file holding content with hash `hex`.
  Result<ArtifactRef> Publish(AtomicFile& temp, const std::string& name, const std::string& hex,
                              uint64_t size);
  std::filesystem::path root_;  // <home>/artifacts
};

}  // namespace reel
