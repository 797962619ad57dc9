// The SQL of the state store's own tables (migration 1 of reel.db; home/schema.cc numbers the
// list). engine/store/state_store.h describes them.
#pragma once

#include <string_view>

namespace reel {

inline constexpr std::string_view kStateStoreSchema = R"sql(
CREATE TABLE workflows(
  name         TEXT NOT NULL,
  version_hash TEXT NOT NULL,
  yaml         TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  PRIMARY KEY(name, version_hash)
);

CREATE TABLE runs(
  run_id        TEXT PRIMARY KEY,
  workflow      TEXT NOT NULL,
  version_hash  TEXT NOT NULL DEFAULT '',
  params        TEXT NOT NULL DEFAULT '{}',
  logical_date  TEXT,
  status        TEXT NOT NULL
                CHECK(status IN ('queued','running','succeeded','failed','cancelled')),
  trigger       TEXT NOT NULL CHECK(trigger IN ('manual','resume','backfill','schedule')),
  origin_run_id TEXT REFERENCES runs(run_id) ON DELETE SET NULL,
  created_at    INTEGER NOT NULL,
  started_at    INTEGER,
  ended_at      INTEGER,
  host          TEXT NOT NULL DEFAULT '',
  pid           INTEGER NOT NULL DEFAULT 0,
  heartbeat_at  INTEGER,
  error         TEXT,
  cancel_requested_at INTEGER
);
CREATE INDEX runs_by_workflow ON runs(workflow, created_at);
CREATE INDEX runs_by_created ON runs(created_at);
CREATE INDEX runs_by_logical_date ON runs(workflow, logical_date);
CREATE INDEX runs_active ON runs(status) WHERE status IN ('queued','running');

CREATE TABLE tasks(
  task_id     INTEGER PRIMARY KEY,
  run_id      TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  step        TEXT NOT NULL,
  item_index  INTEGER NOT NULL DEFAULT -1,
  item        TEXT,
  status      TEXT NOT NULL CHECK(status IN ('queued','running','succeeded','failed','skipped',
                                             'upstream_failed','cancelled')),
  attempts    INTEGER NOT NULL DEFAULT 0,
  outputs     TEXT NOT NULL DEFAULT '{}',
  started_at  INTEGER,
  ended_at    INTEGER,
  error       TEXT,
  reused_from INTEGER REFERENCES tasks(task_id) ON DELETE SET NULL,
  UNIQUE(run_id, step, item_index)
);

CREATE TABLE attempts(
  task_id    INTEGER NOT NULL REFERENCES tasks(task_id) ON DELETE CASCADE,
  attempt    INTEGER NOT NULL,
  status     TEXT NOT NULL
             CHECK(status IN ('running','succeeded','failed','timed_out','cancelled')),
  started_at INTEGER NOT NULL,
  ended_at   INTEGER,
  error      TEXT,
  exit_code  INTEGER,
  log_path   TEXT,
  host       TEXT NOT NULL DEFAULT '',
  pid        INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(task_id, attempt)
) WITHOUT ROWID;

CREATE TABLE artifacts(
  id         INTEGER PRIMARY KEY,
  run_id     TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  task_id    INTEGER REFERENCES tasks(task_id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  uri        TEXT NOT NULL,
  size       INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE INDEX artifacts_by_run ON artifacts(run_id);
CREATE INDEX artifacts_by_task ON artifacts(task_id);
CREATE INDEX artifacts_by_uri ON artifacts(uri);

CREATE TABLE metrics(
  id      INTEGER PRIMARY KEY,
  run_id  TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  task_id INTEGER REFERENCES tasks(task_id) ON DELETE CASCADE,
  key     TEXT NOT NULL,
  value   REAL,
  step    INTEGER NOT NULL DEFAULT -1,
  at      INTEGER NOT NULL
);
CREATE INDEX metrics_by_run ON metrics(run_id, key, step);
CREATE INDEX metrics_by_task ON metrics(task_id);

CREATE TABLE events(
  id      INTEGER PRIMARY KEY,
  run_id  TEXT REFERENCES runs(run_id) ON DELETE CASCADE,
  kind    TEXT NOT NULL,
  payload TEXT NOT NULL DEFAULT '{}',
  at      INTEGER NOT NULL
);
CREATE INDEX events_by_run ON events(run_id, id);
CREATE INDEX events_by_kind ON events(kind, id);
)sql";

// Migration 4: who executes a run. `owner` is the token of the executing process's store
// (StateStore::owner_token); a reaper that declares the process gone replaces it, and every
// later write of the old owner to that run fails. `pid_start` tells a live pid from a reused
// one (ProcessStartId).
inline constexpr std::string_view kStateStoreOwnershipSchema = R"sql(
ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN pid_start TEXT NOT NULL DEFAULT '';
CREATE INDEX runs_by_origin ON runs(origin_run_id) WHERE origin_run_id IS NOT NULL;
)sql";

// Caching: each task of a `cache: true` step records its cache key and the parts it was made
// of; a task completed from the cache records the task (and run) whose result it reused.
inline constexpr std::string_view kStateStoreCacheSchema = R"sql(
ALTER TABLE tasks ADD COLUMN cache_key TEXT;
ALTER TABLE tasks ADD COLUMN cache_parts TEXT;
ALTER TABLE tasks ADD COLUMN cache_from_task INTEGER;
ALTER TABLE tasks ADD COLUMN cache_from_run TEXT;
CREATE INDEX tasks_by_cache_key ON tasks(cache_key, task_id) WHERE cache_key IS NOT NULL;
CREATE INDEX tasks_by_step ON tasks(step, task_id);
)sql";

// Migration 6: a run's free-text note and its KEY=VALUE tags (`reel run --tag --note`).
inline constexpr std::string_view kRunTagsSchema = R"sql(
ALTER TABLE runs ADD COLUMN note TEXT;
CREATE TABLE run_tags(
  run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY(run_id, key)
) WITHOUT ROWID;
CREATE INDEX run_tags_by_pair ON run_tags(key, value);
)sql";

// Migration 7: where each attempt ran, and its Slurm job (AttemptRecord).
inline constexpr std::string_view kAttemptExecutorSchema = R"sql(
ALTER TABLE attempts ADD COLUMN executor TEXT NOT NULL DEFAULT 'local';
ALTER TABLE attempts ADD COLUMN job_name TEXT;
ALTER TABLE attempts ADD COLUMN job_id TEXT;
ALTER TABLE attempts ADD COLUMN job_state TEXT;
)sql";

}  // namespace reel
