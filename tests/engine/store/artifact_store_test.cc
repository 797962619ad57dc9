#include "engine/store/artifact_store.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "engine/base/fsutil.h"
#include "engine/base/sha256.h"
#include "tests/support/fake_context.h"

using namespace reel;
using reel::testing::ReadFile;
using reel::testing::TempDir;
using reel::testing::WriteFile;
namespace fs = std::filesystem;

namespace {

int CountFiles(const fs::path& root) {
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) n += e.is_regular_file();
  return n;
}

}  // namespace

TEST_CASE("artifact store puts files by content and finds them by uri") {
  TempDir home;
  auto store = ArtifactStore::Open(home.path());
  REQUIRE(store.ok());
  WriteFile(home / "in/model.bin", "weights v1");

  Result<ArtifactRef> ref = (*store)->Put("model.bin", home / "in/model.bin");
  REQUIRE(ref.ok());
  std::string hex = Sha256::HexOf("weights v1");
  CHECK(ref->uri == "sha256:" + hex);
  CHECK(ref->name == "model.bin");
  CHECK(ref->size == 10);

  Result<fs::path> path = (*store)->Path(ref->uri);
  REQUIRE(path.ok());
  CHECK(*path == home.path() / "artifacts" / hex.substr(0, 2) / hex.substr(2));
  CHECK(ReadFile(*path) == "weights v1");
  CHECK((*store)->Verify(ref->uri).ok());

  // Bytes with the same content land on the same file; different content does not.
  Result<ArtifactRef> same = (*store)->PutBytes("copy/of/model", "weights v1");
  REQUIRE(same.ok());
  CHECK(same->uri == ref->uri);
  CHECK(same->name == "copy/of/model");
  Result<ArtifactRef> other = (*store)->PutBytes("model.bin", "weights v2");
  REQUIRE(other.ok());
  CHECK(other->uri != ref->uri);
  CHECK(CountFiles(home.path() / "artifacts") == 2);

  // Putting the same file again stores nothing new and leaves no temporary behind.
  REQUIRE((*store)->Put("again", home / "in/model.bin").ok());
  CHECK(CountFiles(home.path() / "artifacts") == 2);
}

TEST_CASE("artifact store stores empty and large files, streaming") {
  TempDir home;
  ArtifactStore store(home.path());
  Result<ArtifactRef> empty = store.PutBytes("empty", "");
  REQUIRE(empty.ok());
  CHECK(empty->uri == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(empty->size == 0);

  std::string big(5 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + (i >> 12));
  WriteFile(home / "big.bin", big);
  Result<ArtifactRef> ref = store.Put("big.bin", home / "big.bin");
  REQUIRE(ref.ok());
  CHECK(ref->uri == "sha256:" + Sha256::HexOf(big));
  CHECK(ref->size == big.size());
  CHECK(ReadFile(*store.Path(ref->uri)) == big);
}

TEST_CASE("stored artifacts are read-only, and only their owner may read them") {
  TempDir home;
  ArtifactStore store(home.path());
  Result<ArtifactRef> ref = store.PutBytes("a.txt", "immutable");
  REQUIRE(ref.ok());
  struct stat st;
  REQUIRE(::stat(store.Path(ref->uri)->c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0400);
}

TEST_CASE("artifact store rejects unsafe names and bad uris") {
  for (const char* bad : {"", "/etc/passwd", "../escape", "a/../../b", "a/./b", "a//b", "a/",
                          "back\\slash", "new\nline", "..", "."}) {
    CAPTURE(bad);
    Status s = ArtifactStore::ValidateName(bad);
    CHECK(s.code() == Status::Code::kInvalidArgument);
    CHECK(s.message().find("invalid artifact name") != std::string::npos);
  }
  CHECK(ArtifactStore::ValidateName(std::string("a\0b", 3)).code() ==
        Status::Code::kInvalidArgument);
  CHECK(ArtifactStore::ValidateName(std::string(256, 'x')).code() ==
        Status::Code::kInvalidArgument);
  for (const char* good : {"model.pt", "eval/report.json", "a..b", ".hidden", "a b/c-d_e"}) {
    CAPTURE(good);
    CHECK(ArtifactStore::ValidateName(good).ok());
  }
  CHECK(ArtifactStore::ValidateName(std::string(255, 'x')).ok());

  TempDir home;
  ArtifactStore store(home.path());
  CHECK(store.PutBytes("../x", "data").status().code() == Status::Code::kInvalidArgument);
  CHECK(!fs::exists(home.path() / "x"));
  CHECK(store.Put("x", home / "missing").status().code() == Status::Code::kNotFound);
  fs::create_directories(home / "dir");
  CHECK(store.Put("x", home / "dir").status().code() == Status::Code::kInvalidArgument);

  CHECK(store.Path("sha256:abc").status().code() == Status::Code::kInvalidArgument);
  CHECK(store.Path("md5:" + std::string(64, 'a')).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(store.Path("sha256:" + std::string(64, 'A')).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(store.Path("sha256:../../" + std::string(58, 'a')).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK(store.Path("sha256:" + std::string(64, 'a')).status().code() == Status::Code::kNotFound);
}

TEST_CASE("a crash leaves no visible half-written artifact, and leftovers are cleaned") {
  TempDir home;
  fs::path root = home.path() / "artifacts";
  fs::create_directories(root);
  std::string content = "half of a model";
  std::string hex = Sha256::HexOf(content);

  // A writer that died mid-copy: its temporary file names a pid that no longer exists.
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  REQUIRE(child > 0);
  int wstatus = 0;
  ::waitpid(child, &wstatus, 0);
  std::string dead_temp = fmt::format("{}{}-00ff00ff-{}", kTempPrefix, child, HostName());
  WriteFile(root / dead_temp, content.substr(0, 7));
  // A temporary file of a live writer (this process) must survive cleaning.
  std::string live_temp = fmt::format("{}{}-0badcafe-{}", kTempPrefix, ::getpid(), HostName());
  WriteFile(root / live_temp, "in progress");

  auto store = ArtifactStore::Open(home.path());
  REQUIRE(store.ok());
  CHECK(!fs::exists(root / dead_temp));
  CHECK(fs::exists(root / live_temp));
  CHECK((*store)->Path("sha256:" + hex).status().code() == Status::Code::kNotFound);

  // The content, written properly now, is complete.
  Result<ArtifactRef> ref = (*store)->PutBytes("model", content);
  REQUIRE(ref.ok());
  CHECK(ReadFile(*(*store)->Path(ref->uri)) == content);
  fs::remove(root / live_temp);
  Result<int> again = (*store)->CleanTemporaries();
  REQUIRE(again.ok());
  CHECK(*again == 0);
}

TEST_CASE("a damaged stored artifact is detected and repaired by the next put") {
  TempDir home;
  ArtifactStore store(home.path());
  Result<ArtifactRef> ref = store.PutBytes("m", "good content");
  REQUIRE(ref.ok());
  fs::path path = *store.Path(ref->uri);
  fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
  WriteFile(path, "bad");
  CHECK(store.Verify(ref->uri).code() == Status::Code::kConflict);
  REQUIRE(store.PutBytes("m", "good content").ok());
  CHECK(store.Verify(ref->uri).ok());
}

TEST_CASE("a folder is stored whole, read-only, addressed by its content") {
  TempDir tmp;
  ArtifactStore store(tmp.path() / "home");
  fs::path dir = tmp.path() / "model";
  fs::create_directories(dir / "sub");
  WriteFile(dir / "w.bin", "weights");
  WriteFile(dir / "sub" / "x.txt", "more");
  ::chmod((dir / "w.bin").c_str(), 0755);

  auto ref = store.PutTree("model", dir);
  REQUIRE(ref.ok());
  CHECK(ref->size == 11);
  auto path = store.Path(ref->uri);
  REQUIRE(path.ok());
  CHECK(fs::is_directory(*path));
  CHECK(ReadFile(*path / "sub" / "x.txt") == "more");
  struct stat st;
  REQUIRE(::stat((*path / "w.bin").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0500);  // the executable bit is kept, writes are not
  REQUIRE(::stat(path->c_str(), &st) == 0);
  CHECK((st.st_mode & 0222) == 0);
  CHECK(store.Verify(ref->uri).ok());

  // The same content from elsewhere: the same uri, stored once; other content, another uri.
  fs::path copy = tmp.path() / "copy";
  fs::copy(dir, copy, fs::copy_options::recursive);
  auto again = store.PutTree("other-name", copy);
  REQUIRE(again.ok());
  CHECK(again->uri == ref->uri);
  WriteFile(copy / "sub" / "x.txt", "changed");
  auto changed = store.PutTree("model", copy);
  REQUIRE(changed.ok());
  CHECK(changed->uri != ref->uri);
  // A renamed file changes the tree, even with the same bytes.
  fs::rename(copy / "sub" / "x.txt", copy / "sub" / "y.txt");
  auto renamed = store.PutTree("model", copy);
  REQUIRE(renamed.ok());
  CHECK(renamed->uri != changed->uri);
  // No temporary folder is left behind.
  for (const auto& e : fs::directory_iterator(tmp.path() / "home" / "artifacts")) {
    CHECK(e.path().filename().string().rfind(std::string(kTempPrefix), 0) != 0);
  }
}

TEST_CASE("a folder holding a symbolic link is refused, naming it") {
  TempDir tmp;
  ArtifactStore store(tmp.path() / "home");
  fs::path dir = tmp.path() / "d";
  fs::create_directories(dir);
  WriteFile(dir / "a.txt", "a");
  fs::create_symlink("/etc/passwd", dir / "pw");
  auto ref = store.PutTree("d", dir);
  REQUIRE_FALSE(ref.ok());
  CHECK(ref.status().message().find("is a symbolic link") != std::string::npos);
  CHECK(ref.status().message().find("pw") != std::string::npos);
}
