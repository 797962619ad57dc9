// Which plugins a workflow file may make the registry load: only those the user trusts.
#include "engine/exec/operator_registry.h"

#include <doctest/doctest.h>

#include "tests/support/fake_context.h"

namespace reel {
namespace {

using reel::testing::TempDir;
using reel::testing::WriteFile;

}  // namespace

TEST_CASE("operator registry: a workflow's plugin outside every trusted folder is not opened") {
  TempDir dir;
  // Not a shared library: were it opened, the error would say it cannot be loaded.
  WriteFile(dir / "untrusted" / "libevil.so", "not an ELF file");
  OperatorRegistry registry;
  Status s = registry.LoadWorkflowPlugin(dir / "untrusted" / "libevil.so");
  CHECK(s.code() == Status::Code::kInvalidArgument);
  CHECK(s.message().find("is not trusted, so it was not loaded") != std::string::npos);
  CHECK(s.message().find("--plugin") != std::string::npos);
  CHECK(s.message().find("REEL_PLUGIN_PATH") != std::string::npos);
  CHECK(s.message().find("plugin_dirs") != std::string::npos);

  // `..` and symbolic links do not lead out of a trusted folder.
  registry.TrustDirectory(dir / "trusted");
  std::filesystem::create_directories(dir / "trusted");
  s = registry.LoadWorkflowPlugin(dir / "trusted" / ".." / "untrusted" / "libevil.so");
  CHECK(s.message().find("is not trusted") != std::string::npos);
  std::filesystem::create_symlink(dir / "untrusted" / "libevil.so", dir / "trusted" / "link.so");
  s = registry.LoadWorkflowPlugin(dir / "trusted" / "link.so");
  CHECK(s.message().find("is not trusted") != std::string::npos);
  // A sibling whose name starts with the trusted folder's is not inside it.
  WriteFile(dir / "trusted-not" / "lib.so", "not an ELF file");
  s = registry.LoadWorkflowPlugin(dir / "trusted-not" / "lib.so");
  CHECK(s.message().find("is not trusted") != std::string::npos);
}

TEST_CASE("operator registry: a workflow's plugin in a trusted folder is loaded") {
  TempDir dir;
  WriteFile(dir / "plugins" / "sub" / "libx.so", "not an ELF file");
  OperatorRegistry registry;
  registry.TrustDirectory(dir / "plugins");
  Status s = registry.LoadWorkflowPlugin(dir / "plugins" / "sub" / "libx.so");
  // Trusted, so it was handed to dlopen, which refuses a file that is no library.
  CHECK(s.message().find("cannot load plugin") != std::string::npos);
  s = registry.LoadWorkflowPlugin(dir / "plugins" / "missing.so");
  CHECK(s.code() == Status::Code::kNotFound);
}

TEST_CASE("operator registry: a second operator of the same name names both sources") {
  OperatorRegistry registry;
  auto def = [] {
    OperatorDef d;
    d.info.name = "twice";
    d.create = [] { return std::unique_ptr<Operator>(); };
    return d;
  };
  REQUIRE(registry.Register(def()).ok());
  Status s = registry.Register(def());
  CHECK(s.code() == Status::Code::kAlreadyExists);
  CHECK(s.message().find("operator 'twice' is registered twice: by built-in and by built-in") !=
        std::string::npos);
}

}  // namespace reel
