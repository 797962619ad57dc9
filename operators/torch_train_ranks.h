// Starting and supervising the rank processes of one torch_train job.
//
// Each rank is `WORKER --config CONFIG --rank R --parent-pid <this pid>`, started with
// posix_spawn in a process group of the job's own (so that a terminal's Ctrl-C does not reach
// it through ours), with default signal dispositions and an empty signal mask, stdin from
// /dev/null, and stdout and stderr into one pipe that the supervisor forwards to the attempt's
// log line by line as "[rank R] ...".
//
// The job never hangs on a dead rank: as soon as one rank exits non-zero or is killed, the
// others get SIGTERM and, after `kill_grace`, SIGKILL, and RunRanks fails with the failing
// rank's exit status and its last error lines. When several fail, a rank's own error is
// preferred over a peer's "a collective failed" (exit code 3), which is only a consequence.
// Cancellation of the attempt kills the ranks the same way and returns Cancelled.
//
// Runs on the calling thread (the attempt's); calls into `ctx` happen on that thread only.
// The worker sets PR_SET_PDEATHSIG itself, which fires when this thread exits, so ranks die
// with the engine even if it is killed outright.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "reel/operator.h"

namespace reel {

struct RankJob {
  std::filesystem::path worker;
  std::filesystem::path config;
  int world_size = 1;
  // When set (Slurm: {"srun", ...}), one process `LAUNCHER... WORKER --config CONFIG` starts
  // every rank itself, and each rank takes its rank from the launcher ($SLURM_PROCID); its
  // output lines are logged as "[srun] ...".
  std::vector<std::string> launcher;
  std::chrono::milliseconds kill_grace{5000};
  // Called about every 100 ms while the ranks run, and once after they all exited.
  std::function<void()> on_poll;
};

// Runs the ranks to completion: OK when every rank exited 0.
Status RunRanks(Context& ctx, const RankJob& job);

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read, close), for the
// rendezvous of rank 0.
Result<int> PickFreeLocalPort();

}  // namespace reel
