// The daemon's runs (one thread each), its shutdown, and the serve loop.
#include <fmt/format.h>

#include "engine/schedule/daemon.h"

namespace reel {

void Daemon::StartRun(RunRequest request, std::string label) {
  std::lock_guard<std::mutex> lock(runs_mu_);
  runs_.push_back(ActiveRun{request.run_id, {}, false});
  ActiveRun* slot = &runs_.back();
  slot->thread = std::thread([this, slot, request = std::move(request), label = std::move(label)] {
    SchedulerOptions options = options_.scheduler;
    options.handle_signals = false;
    options.observer = nullptr;
    Scheduler scheduler(store_, artifacts_, operators_, options);
    Result<RunOutcome> outcome = scheduler.Execute(request, &cancel_runs_);
    RunStatus status = RunStatus::kFailed;
    std::string error;
    if (outcome.ok()) {
      status = outcome->status;
      error = outcome->error;
    } else {
      // The run row exists (queued); it must not stay that way and hold a slot.
      error = outcome.status().message();
      (void)store_.UpdateRunStatus(request.run_id, RunStatus::kFailed, error);
    }
    Log(fmt::format("finished {} {} run={} {}{}", request.workflow->name, label, request.run_id,
                    ToString(status), error.empty() ? "" : ": " + error));
    {
      std::lock_guard<std::mutex> done_lock(runs_mu_);
      slot->done = true;
    }
    runs_cv_.notify_all();
  });
}

void Daemon::JoinFinishedRuns() {
  std::lock_guard<std::mutex> lock(runs_mu_);
  for (auto it = runs_.begin(); it != runs_.end();) {
    if (!it->done) {
      ++it;
      continue;
    }
    it->thread.join();  // it has set `done` and needs the lock no more
    it = runs_.erase(it);
  }
}

size_t Daemon::active_runs() const {
  std::lock_guard<std::mutex> lock(runs_mu_);
  size_t n = 0;
  for (const auto& run : runs_) n += run.done ? 0 : 1;
  return n;
}

bool Daemon::WaitForRuns(std::chrono::milliseconds timeout) {
  bool all_done;
  {
    std::unique_lock<std::mutex> lock(runs_mu_);
    all_done = runs_cv_.wait_for(lock, timeout, [this] {
      for (const auto& run : runs_) {
        if (!run.done) return false;
      }
      return true;
    });
  }
  JoinFinishedRuns();
  return all_done;
}

void Daemon::Shutdown(std::chrono::milliseconds grace) {
  stopping_ = true;
  size_t running = active_runs();
  if (running > 0 && grace.count() > 0) {
    Log(fmt::format("stopping: waiting up to {}s for {} running run(s)",
                    std::chrono::duration_cast<std::chrono::seconds>(grace).count(), running));
  }
  if (running > 0 && !WaitForRuns(grace)) {
    Log(fmt::format("cancelling {} run(s) still running", active_runs()));
    cancel_runs_.store(true);
    while (!WaitForRuns(std::chrono::seconds(60))) {
      Log(fmt::format("still waiting for {} cancelled run(s) to stop", active_runs()));
    }
  }
  JoinFinishedRuns();
}

Daemon::~Daemon() { Shutdown(std::chrono::milliseconds(0)); }

void Daemon::Serve(Clock& clock, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    std::chrono::sys_seconds now = clock.Now();
    Tick(now);
    if (stop.load()) break;
    std::chrono::sys_seconds wake = now + options_.poll;
    if (auto next = NextDue(now); next && *next < wake) wake = *next;
    clock.SleepUntil(wake);
  }
  Shutdown(options_.drain_grace);
}

}  // namespace reel
