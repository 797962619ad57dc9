// Slurm, through its own commands: sbatch submits, squeue (then sacct, for jobs squeue has
// forgotten) reports states, scancel cancels. The engine never keeps a cluster of its own and
// never talks to slurmctld but through these, so whatever Slurm the user's shell reaches
// (SLURM_CONF, the PATH's commands) is the one it uses.
//
// How the Slurm executor uses them (engine/exec/scheduler_slurm.cc):
//   - each attempt is a job folder (engine/exec/job_spec.h) and one sbatch, or, for the tasks
//     of a foreach step that are ready together, one job array whose index is the item;
//   - the attempt records the job's name before sbatch and its id after, before the engine
//     waits on it, so that a resumed run re-attaches to a job instead of submitting it again;
//   - one squeue call per poll asks for every job of the run, however many there are; the
//     poll interval grows while nothing changes;
//   - a job that ended is collected from its result file; one that ended without writing it
//     (time limit, node failure, preemption, scancel) fails the attempt with Slurm's state and
//     reason, and the step's retry policy decides what follows.
//
// Thread-safety: a SlurmClient may be used from any thread; each call runs one command.
#pragma once

#include <atomic>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "reel/status.h"

namespace reel {

// A job (or array task) as Slurm reports it.
struct SlurmJobInfo {
  std::string state;   // PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED, ...
  std::string reason;  // squeue's reason (Priority, Resources, NonZeroExitCode, ...); may be empty
  std::optional<int> exit_code;  // from sacct, when it reports one
  std::string raw_id;  // an array task's own job id (squeue's %A), by which sacct -c knows it
};

// True for the states after which a job runs no more.
bool IsFinishedJobState(std::string_view state);

// "123" or "123_4" -> "123": the id that squeue -j and scancel take for a job or a whole array.
std::string BaseJobId(std::string_view job_id);

class SlurmClient {
 public:
  // `env`: variables set for every command (and so, with sbatch's default --export=ALL, for
  // every job); `drop_env`: names (and NAME* prefixes) of the engine's environment kept from
  // them, such as the REEL_SECRET_* values a job must not carry in Slurm's spool.
  SlurmClient(std::map<std::string, std::string> env, std::vector<std::string> drop_env);

  // sbatch --parsable ARGS SCRIPT; returns the job id. The error quotes sbatch's message
  // ("Requested node configuration is not available", ...).
  Result<std::string> Submit(const std::vector<std::string>& args,
                             const std::filesystem::path& script);
  // The state of each of `job_ids` ("ID" or "ID_INDEX") that Slurm still knows, from one
  // squeue call; with `finished_too`, the ones squeue no longer lists are looked up with one
  // sacct call (slurmdbd's accounting, or the job completion log: sacct -c). The job
  // completion log knows an array task only by its own raw id: `raw_ids` maps the array tasks
  // whose raw id an earlier Query reported to it.
  Result<std::map<std::string, SlurmJobInfo>> Query(
      const std::vector<std::string>& job_ids, bool finished_too,
      const std::map<std::string, std::string>& raw_ids = {});
  // The jobs (array tasks one by one) submitted under `name`, each with its comment: for an
  // attempt whose sbatch may have succeeded just before the engine died.
  Result<std::vector<std::pair<std::string, std::string>>> FindByName(const std::string& name);
  // scancel of every job given (whole arrays by their base id); one call.
  Status Cancel(const std::vector<std::string>& job_ids);

  // Calls made so far of squeue and sacct (the status queries), and of sbatch.
  int64_t status_queries() const { return status_queries_.load(); }
  int64_t submissions() const { return submissions_.load(); }

 private:
  struct Output {
    int exit_code = -1;
    std::string text;  // stdout and stderr together
  };
  Result<Output> RunCommand(const std::vector<std::string>& argv);

  std::map<std::string, std::string> env_;
  std::vector<std::string> drop_env_;
  std::atomic<int64_t> status_queries_{0};
  std::atomic<int64_t> submissions_{0};
  std::atomic<int> sacct_mode_{0};  // 0: not yet tried; 1: sacct works; 2: only sacct -c
};

}  // namespace reel
