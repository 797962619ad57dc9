// Opening a reel home: the folder everything a run writes lives under (reel.db, artifacts/,
// facts.db, logs/, work/; see docs/architecture.md).
//
// reel.db's schema is one numbered list of migrations, but no single layer owns it: the state
// store, the daemon's schedule store and the model registry each keep their own tables' SQL.
// This layer sits above all of them and is the one place that puts their migrations in order
// (home/schema.cc). Everything that opens reel.db goes through OpenStateStore, so every process
// applies, and agrees on, the same list.
#pragma once

#include <filesystem>
#include <memory>
#include <span>

#include "engine/store/artifact_store.h"
#include "engine/store/state_store.h"
#include "reel/status.h"

namespace reel {

// Every migration of reel.db, oldest first (home/schema.cc).
std::span<const Migration> HomeSchema();

// Opens `home`/reel.db, creating the folder and the database if missing, with every migration
// of HomeSchema applied.
Result<std::unique_ptr<StateStore>> OpenStateStore(const std::filesystem::path& home,
                                                   Database::Options options = {});

// The stores of a home that commands and runs use.
struct Home {
  std::unique_ptr<StateStore> store;
  std::unique_ptr<ArtifactStore> artifacts;
};

// Opens the state store and the artifact store of `home`. The error names the home and the
// store that could not be opened.
Result<Home> OpenHome(const std::filesystem::path& home);

}  // namespace reel
