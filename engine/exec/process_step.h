// A step whose whole work is one child process. The scheduler runs such a step without a
// worker thread: it spawns the process on its loop and waits for its exit and output there,
// through Asio, along with every other running step. An operator offers this by implementing
// ProcessStep beside Operator; Execute must still work on its own (it is used where the loop
// cannot watch processes).
#pragma once

#include <chrono>

#include "engine/base/process.h"
#include "reel/operator.h"
#include "reel/status.h"

namespace reel {

class ProcessStep {
 public:
  virtual ~ProcessStep() = default;
  // Spawns the attempt's process; the returned Process stays owned by this object. An error
  // fails the attempt. Must not block beyond the spawn itself.
  virtual Result<Process*> Start(Context& ctx) = 0;
  // On cancel or timeout: how long after SIGTERM the group gets SIGKILL.
  virtual std::chrono::milliseconds kill_grace() const = 0;
  // After the process was reaped and its output read: the attempt's outcome.
  virtual Status Finish(Context& ctx, const ProcessResult& result) = 0;
};

}  // namespace reel
