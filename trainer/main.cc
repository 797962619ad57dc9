// reel-train-worker: one rank of a torch_train job. The torch_train operator starts
// `world_size` of these; benchmarks may start them by hand:
//
//   reel-train-worker --config job.json --rank R [--parent-pid PID]
//
// Progress and errors go to stderr, one line each; an error line starts with "error: ".
// Exit codes are listed in trainer/train_rank.h. With --parent-pid, the rank dies with its
// parent (the engine): it asks the kernel for SIGKILL when the parent goes away and exits at
// once if that already happened.
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "trainer/train_config.h"
#include "trainer/train_rank.h"

namespace {

constexpr const char* kUsage =
    "usage: reel-train-worker --config FILE --rank R [--parent-pid PID]\n"
    "       srun ... reel-train-worker --config FILE   (the rank is $SLURM_PROCID)\n"
    "Runs one rank of a reel torch_train job described by the JSON file FILE.\n";

bool ParseInt(const char* text, long& out) {
  char* end = nullptr;
  out = std::strtol(text, &end, 10);
  return end != text && *end == '\0';
}

}  // namespace

int main(int argc, char** argv) {
  using reel::trainer::kExitUsage;
  std::string config_path;
  long rank = -1;
  long parent_pid = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "error: %s needs a value\n%s", argv[i], kUsage);
      return kExitUsage;
    }
    const char* value = argv[++i];
    bool ok = true;
    if (arg == "--config") {
      config_path = value;
    } else if (arg == "--rank") {
      ok = ParseInt(value, rank) && rank >= 0;
    } else if (arg == "--parent-pid") {
      ok = ParseInt(value, parent_pid) && parent_pid > 0;
    } else {
      std::fprintf(stderr, "error: unknown argument %s\n%s", argv[i - 1], kUsage);
      return kExitUsage;
    }
    if (!ok) {
      std::fprintf(stderr, "error: bad value '%s' for %s\n", value, argv[i - 1]);
      return kExitUsage;
    }
  }
  // Started by srun (torch_train on Slurm): the rank is the task's.
  const char* procid = std::getenv("SLURM_PROCID");
  if (rank < 0 && procid != nullptr && !ParseInt(procid, rank)) rank = -1;
  if (config_path.empty() || rank < 0) {
    std::fprintf(stderr, "error: --config and --rank (or $SLURM_PROCID) are required\n%s", kUsage);
    return kExitUsage;
  }
  if (parent_pid > 0) {
    // posix_spawn cannot set this in the child before exec, so the rank sets it itself and
    // then checks that the parent did not die in between.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != static_cast<pid_t>(parent_pid)) {
      std::fprintf(stderr, "error: the parent process %ld is gone\n", parent_pid);
      return reel::trainer::kExitFailed;
    }
  }

  auto config = reel::trainer::LoadTrainConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n", config.status().message().c_str());
    return kExitUsage;
  }
  if (rank >= config->world_size) {
    std::fprintf(stderr, "error: --rank %ld is out of range for world_size %d\n", rank,
                 config->world_size);
    return kExitUsage;
  }
  reel::trainer::RankOutcome outcome = reel::trainer::RunRank(*config, static_cast<int>(rank));
  if (outcome.status.ok()) return reel::trainer::kExitOk;
  if (outcome.peer_failure) {
    std::fprintf(stderr,
                 "error: a collective failed, most likely because another rank died or timed "
                 "out: %s\n",
                 outcome.status.message().c_str());
    return reel::trainer::kExitPeerFailed;
  }
  std::fprintf(stderr, "error: %s\n", outcome.status.message().c_str());
  return reel::trainer::kExitFailed;
}
