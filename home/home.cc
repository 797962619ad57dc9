#include "home/home.h"

#include "engine/base/fsutil.h"

namespace reel {

Result<std::unique_ptr<StateStore>> OpenStateStore(const std::filesystem::path& home,
                                                   Database::Options options) {
  // A home reel creates is private to its owner: runs' logs, outputs and artifacts are data.
  REEL_RETURN_IF_ERROR(MakePrivateDirs(home));
  return StateStore::Open(home, HomeSchema(), options);
}

Result<Home> OpenHome(const std::filesystem::path& home) {
  auto store = OpenStateStore(home);
  if (!store.ok()) {
    return store.status().WithContext("cannot open the state store in '" + home.string() + "': ");
  }
  auto artifacts = ArtifactStore::Open(home);
  if (!artifacts.ok()) {
    return artifacts.status().WithContext("cannot open the artifact store in '" + home.string() +
                                          "': ");
  }
  return Home{std::move(*store), std::move(*artifacts)};
}

}  // namespace reel
