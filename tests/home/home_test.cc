// A home: private modes for what reel creates, and its config.yaml.
#include "home/home.h"

#include <sys/stat.h>

#include <doctest/doctest.h>

#include "home/config.h"
#include "tests/support/fake_context.h"

namespace reel {
namespace {

using reel::testing::TempDir;
using reel::testing::WriteFile;

unsigned ModeOf(const std::filesystem::path& path) {
  struct stat st;
  REQUIRE_MESSAGE(::stat(path.c_str(), &st) == 0, path.string());
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("home: what reel creates is its owner's alone, whatever the umask") {
  TempDir dir;
  const std::filesystem::path home = dir / "a" / "home";
  mode_t old = ::umask(0);
  {
    Result<Home> opened = OpenHome(home);
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    CHECK(ModeOf(dir / "a") == 0700);
    CHECK(ModeOf(home) == 0700);
    CHECK(ModeOf(home / "reel.db") == 0600);
    if (std::filesystem::exists(home / "reel.db-wal")) CHECK(ModeOf(home / "reel.db-wal") == 0600);
    if (std::filesystem::exists(home / "reel.db-shm")) CHECK(ModeOf(home / "reel.db-shm") == 0600);
    CHECK(ModeOf(home / "artifacts") == 0700);
    WriteFile(dir / "model.bin", "weights");
    Result<ArtifactRef> ref = opened->artifacts->Put("model", dir / "model.bin");
    REQUIRE(ref.ok());
    Result<std::filesystem::path> path = opened->artifacts->Path(ref->uri);
    REQUIRE(path.ok());
    CHECK(ModeOf(*path) == 0400);
    CHECK(ModeOf(path->parent_path()) == 0700);
  }
  ::umask(old);
  // An existing folder keeps its mode: reel does not change what it did not create.
  std::filesystem::create_directories(dir / "shared");
  std::filesystem::permissions(dir / "shared", std::filesystem::perms(0750));
  REQUIRE(OpenHome(dir / "shared").ok());
  CHECK(ModeOf(dir / "shared") == 0750);
}

TEST_CASE("home: config.yaml lists trusted plugin folders; mistakes name file:line:col") {
  TempDir dir;
  Result<HomeConfig> none = ReadHomeConfig(dir.path());
  REQUIRE(none.ok());
  CHECK(none->plugin_dirs.empty());

  WriteFile(dir / "config.yaml", "plugin_dirs: [/opt/reel/plugins, local]\n");
  Result<HomeConfig> config = ReadHomeConfig(dir.path());
  REQUIRE(config.ok());
  CHECK(config->plugin_dirs ==
        std::vector<std::filesystem::path>{"/opt/reel/plugins", dir / "local"});

  WriteFile(dir / "config.yaml", "plugin_dir: [x]\n");
  Result<HomeConfig> bad = ReadHomeConfig(dir.path());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("config.yaml:1:1") != std::string::npos);
  CHECK(bad.status().message().find("unknown key 'plugin_dir'") != std::string::npos);

  WriteFile(dir / "config.yaml", "plugin_dirs: /opt/reel\n");
  bad = ReadHomeConfig(dir.path());
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("config.yaml:1:14") != std::string::npos);
  CHECK(bad.status().message().find("must be a list") != std::string::npos);
}

}  // namespace reel
