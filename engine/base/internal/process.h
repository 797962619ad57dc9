// Internal to engine/base/process*.cc: what the spawning, guardian, output and waiting parts
// of child-process handling share. Not part of the public API (engine/base/process.h).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "reel/status.h"

namespace reel::process_internal {

inline constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";
inline constexpr std::chrono::milliseconds kCancelCheckInterval{50};
// Output pipes are read in chunks of kOutputChunk, at most kMaxReadsPerDrain at a time so that
// a chatty child cannot starve the exit and cancel checks.
inline constexpr std::size_t kOutputChunk = 64 * 1024;
inline constexpr int kMaxReadsPerDrain = 16;

// The registry of live process groups (process_guardian.cc): what KillAllChildren signals.
// Returns the slot, or -1 when untracked (more live children than slots).
int RegisterChild(pid_t pgid);
void UnregisterChild(int slot);
// kill(-pgid): guarded so that a bogus id can never turn into kill(0) (our own group) or
// kill(-1) (everything we may signal).
void SignalGroup(pid_t pgid, int sig);

// The guardian (process_guardian.cc). GuardianSocket starts it on first use and returns the
// engine's end of its socket, -1 when it could not be started. TellGuardian sends +pgid when a
// group starts, -pgid before it is reaped.
int GuardianSocket();
void TellGuardian(pid_t record);
// The guardian's pid, once GuardianSocket has started it. Every guarded child gets
// kGuardianEnv=<that pid> in its environment, so that the guardian can find a child spawned
// just before the engine died, before the engine could register it.
pid_t GuardianPid();
inline constexpr const char* kGuardianEnv = "REEL_GUARDIAN_PID";

// Spawning (process_spawn.cc).
// The engine's environment, less what `inherit` (when set) refuses, with `overrides` applied,
// as "KEY=VALUE" strings; `path_var` gets the PATH the child will see.
std::vector<std::string> MergedEnvironment(
    const std::map<std::string, std::string>& overrides, std::string* path_var,
    const std::function<bool(std::string_view)>& inherit = {});
// Where argv[0] lives, checked before spawning so that a missing command gets a message that
// names it and the PATH searched rather than a bare errno.
Result<std::string> ResolveProgram(const std::string& name, const std::string& path_var,
                                   const std::filesystem::path& cwd);

}  // namespace reel::process_internal
