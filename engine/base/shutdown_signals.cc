#include "engine/base/shutdown_signals.h"

#include <pthread.h>

#include <cstdio>
#include <cstdlib>

namespace reel {

ShutdownSignals::ShutdownSignals(std::function<void(int)> on_signal)
    : on_signal_(std::move(on_signal)) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, &previous_);
  watcher_ = std::thread([this] {
    int received = 0;
    for (;;) {
      int signo = 0;
      if (sigwait(&set_, &signo) != 0) continue;
      if (closing_.load()) return;
      if (++received == 1) {
        on_signal_(signo);
      } else {
        std::fprintf(stderr, "reel: second signal; exiting at once\n");
        std::_Exit(128 + signo);
      }
    }
  });
}

ShutdownSignals::~ShutdownSignals() {
  closing_.store(true);
  pthread_kill(watcher_.native_handle(), SIGTERM);  // blocked there, so sigwait takes it
  watcher_.join();
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

}  // namespace reel
