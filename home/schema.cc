// The schema history of <home>/reel.db, oldest first.
//
// Each module owns its tables' SQL; this list gives each migration its number. To change the
// schema, put the new SQL beside the code that uses the tables (a `constexpr std::string_view`)
// and append a Migration with the next number here. Never edit, remove or reorder a migration
// that has shipped: databases in the field have already applied it. StateStore::Open applies
// the pending ones in order, each in its own transaction.
#include "engine/schedule/schedule_store.h"
#include "engine/store/state_store_schema.h"
#include "home/home.h"
#include "models/registry.h"

namespace reel {
namespace {

constexpr Migration kSchema[] = {
    {1, "runs, tasks, attempts, artifacts, metrics, events, workflows", kStateStoreSchema},
    {2, "model registry: models, model_versions, model_aliases, model_events",
     kModelRegistrySchema},
    {3, "schedules: the daemon's latest decided interval per workflow", kScheduleStoreSchema},
    {4, "runs.owner and runs.pid_start: which process executes a run", kStateStoreOwnershipSchema},
    {5, "tasks.cache_key, cache_parts, cache_from_task, cache_from_run: step caching",
     kStateStoreCacheSchema},
    {6, "runs.note and run_tags: a run's note and KEY=VALUE tags", kRunTagsSchema},
    {7, "attempts.executor, job_name, job_id, job_state: attempts run as Slurm jobs",
     kAttemptExecutorSchema},
};

}  // namespace

std::span<const Migration> HomeSchema() { return kSchema; }

}  // namespace reel
