// The model registry, kept in reel.db: named models, their numbered versions (each an
// artifact), aliases such as `production` pointing at a version, and an audit history.
//
// Tables (migration 2, kModelRegistrySchema below):
//   models(name PK, created_at)
//   model_versions(name, version 1,2,3.. per model, artifact_uri, run_id, step, metrics JSON,
//                  trained_on JSON, created_at)  UNIQUE(name, version)
//   model_aliases(name, alias, version, updated_at)  PK(name, alias)
//   model_events(id, name, kind 'registered'|'promoted'|'rolled_back', alias, from_version,
//                to_version, run_id, at, actor)
//
// Contracts:
//   - RegisterVersion is idempotent per (name, run, artifact): registering the same artifact
//     from the same run (or from a run resumed from it) returns the existing version.
//   - Promote moves an alias and records its event in one transaction, exactly once per run:
//     when the run (or a run it was resumed from, following runs.origin_run_id) already
//     promoted this model's alias, it changes nothing and returns the earlier result. A
//     retried promote step or a resumed run therefore never promotes twice.
//   - Rollback moves the alias back to the version it pointed at before the latest promotion
//     that has not been rolled back yet (repeated rollbacks walk further back).
//   - Versions are never deleted or renumbered; model rows outlive the runs that made them.
//
// Thread-safety: as StateStore (calls are serialized on its connection). Several processes
// may use one home: every write is one BEGIN IMMEDIATE transaction.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/store/state_store.h"
#include "reel/status.h"

namespace reel {

inline constexpr std::string_view kModelRegistrySchema = R"sql(
CREATE TABLE models(
  name       TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
);

CREATE TABLE model_versions(
  name         TEXT NOT NULL REFERENCES models(name) ON DELETE CASCADE,
  version      INTEGER NOT NULL CHECK(version >= 1),
  artifact_uri TEXT NOT NULL,
  run_id       TEXT,
  step         TEXT,
  metrics      TEXT NOT NULL DEFAULT '{}',
  trained_on   TEXT NOT NULL DEFAULT '{}',
  created_at   INTEGER NOT NULL,
  UNIQUE(name, version)
);
CREATE INDEX model_versions_by_run ON model_versions(name, run_id, artifact_uri);

CREATE TABLE model_aliases(
  name       TEXT NOT NULL REFERENCES models(name) ON DELETE CASCADE,
  alias      TEXT NOT NULL,
  version    INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY(name, alias)
);

CREATE TABLE model_events(
  id           INTEGER PRIMARY KEY,
  name         TEXT NOT NULL REFERENCES models(name) ON DELETE CASCADE,
  kind         TEXT NOT NULL CHECK(kind IN ('registered','promoted','rolled_back')),
  alias        TEXT,
  from_version INTEGER,
  to_version   INTEGER,
  run_id       TEXT,
  at           INTEGER NOT NULL,
  actor        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX model_events_by_name ON model_events(name, id);
CREATE INDEX model_events_by_run ON model_events(run_id);
)sql";

inline constexpr const char* kProductionAlias = "production";

struct ModelVersion {
  std::string name;
  int64_t version = 0;       // assigned by RegisterVersion
  std::string artifact_uri;  // "sha256:<hex>"
  std::string run_id;        // empty: registered outside a run
  std::string step;
  Json metrics = Json::object();
  Json trained_on = Json::object();  // {"interactions": uri, ...}
  int64_t created_at = 0;            // 0: now
};

struct ModelEvent {
  int64_t id = 0;
  std::string name;
  std::string kind;   // registered | promoted | rolled_back
  std::string alias;  // empty for `registered`
  std::optional<int64_t> from_version;
  std::optional<int64_t> to_version;
  std::string run_id;
  int64_t at = 0;
  std::string actor;  // "cli", "workflow:<name>", ...
};

struct ModelSummary {
  std::string name;
  int64_t created_at = 0;
  std::vector<ModelVersion> versions;      // oldest first
  std::map<std::string, int64_t> aliases;  // alias -> version
};

struct PromoteResult {
  int64_t version = 0;                      // where the alias points now
  std::optional<int64_t> previous_version;  // where it pointed before; nullopt: nowhere
  bool promoted = false;                    // false when the alias already pointed at `version`
  bool replayed = false;  // true when this run had already promoted: nothing changed now
};

class ModelRegistry {
 public:
  // Uses `store`'s connection; `store` must outlive the registry.
  explicit ModelRegistry(StateStore& store) : store_(store) {}

  // Creates the model if needed and appends a version (number = previous highest + 1), or
  // returns the existing one for the same (name, run lineage, artifact). InvalidArgument for
  // an empty name or uri or a name with characters outside [A-Za-z0-9_.-].
  Result<ModelVersion> RegisterVersion(const ModelVersion& version, const std::string& actor = "");

  // NotFound names the model and lists the versions it has.
  Result<ModelVersion> GetVersion(const std::string& name, int64_t version);
  // The version an alias points at; nullopt when the alias is not set. NotFound for an
  // unknown model.
  Result<std::optional<int64_t>> GetAlias(const std::string& name, const std::string& alias);
  // Every model with its versions and aliases, by name.
  Result<std::vector<ModelSummary>> ListModels();
  Result<ModelSummary> GetModel(const std::string& name);
  // The model's audit history, oldest first.
  Result<std::vector<ModelEvent>> History(const std::string& name);

  // Points `alias` at `version` (see the contract above). `run_id` empty: a manual promotion,
  // which is never deduplicated.
  Result<PromoteResult> Promote(const std::string& name, int64_t version, const std::string& run_id,
                                const std::string& actor,
                                const std::string& alias = kProductionAlias);
  // Moves `alias` back (see above). Conflict when there is nothing to roll back to.
  Result<PromoteResult> Rollback(const std::string& name, const std::string& actor,
                                 const std::string& alias = kProductionAlias,
                                 const std::string& run_id = "");

  static Status ValidateName(const std::string& name);

 private:
  // The run and the runs it was resumed from (runs.origin_run_id), newest first.
  Result<std::vector<std::string>> Lineage(const std::string& run_id);
  Status RequireModel(const std::string& name);
  Result<std::vector<ModelVersion>> Versions(const std::string& name);
  Result<std::map<std::string, int64_t>> Aliases(const std::string& name);
  Status AddEvent(const ModelEvent& event);

  StateStore& store_;
};

}  // namespace reel
