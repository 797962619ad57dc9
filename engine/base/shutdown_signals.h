// ShutdownSignals: SIGINT and SIGTERM, turned into a callback for long-running commands
// (`reel backfill`, `reel serve`) that must stop cleanly rather than die mid-write.
//
// The constructor blocks both signals in the calling thread; every thread started after it
// inherits that mask, so the signals reach only the watcher thread (sigwait), never a worker
// in the middle of a SQLite call. Construct it before starting any other thread. Child
// processes are unaffected: engine/process resets their mask.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace reel {

class ShutdownSignals {
 public:
  // `on_signal(signo)` runs on the watcher thread at the first signal. A second signal ends
  // the process at once with status 128 + signo (the escape hatch for a stuck shutdown).
  explicit ShutdownSignals(std::function<void(int)> on_signal);
  // Stops the watcher and restores the previous signal mask.
  ~ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

 private:
  std::function<void(int)> on_signal_;
  sigset_t set_;
  sigset_t previous_;
  std::atomic<bool> closing_{false};
  std::thread watcher_;
};

}  // namespace reel
