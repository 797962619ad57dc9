// Process steps on the run loop: a shell step's child is spawned on the loop thread, and its
// exit (a pidfd) and output (a pipe) are watched by the loop's reactor with every other running
// step. No worker thread waits for it, so ending one process and starting the next takes no
// thread hand-off, and a thousand running commands need no thousand threads.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include "engine/exec/internal/run_loop.h"

namespace reel::scheduler_internal {

namespace {

// The kernel offers pidfds (Linux 5.3 and later): asked once.
bool PidfdsAvailable() {
  static const bool available = [] {
#ifdef SYS_pidfd_open
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0));
    if (fd < 0) return false;
    ::close(fd);
    return true;
#else
    return false;
#endif
  }();
  return available;
}

}  // namespace

bool RunLoop::StartProcess(size_t index, uint64_t generation, std::shared_ptr<TaskContext> ctx,
                           std::shared_ptr<Operator> op) {
  auto* step = dynamic_cast<ProcessStep*>(op.get());
  if (step == nullptr || !PidfdsAvailable()) return false;
  auto p = std::make_shared<ProcessAttempt>(io_);
  p->task = index;
  p->generation = generation;
  p->ctx = std::move(ctx);
  p->op = std::move(op);
  p->step = step;
  Status started = GuardOperatorCall([&]() -> Status {
    REEL_ASSIGN_OR_RETURN(Process * process, step->Start(*p->ctx));
    p->process = process;
    return Status::Ok();
  });
  if (started.ok()) {
    boost::system::error_code ec;
    if (p->process->pidfd() < 0) {
      ec = boost::system::errc::make_error_code(boost::system::errc::too_many_files_open);
    } else {
      p->exit_watch.assign(p->process->pidfd(), ec);
    }
    if (!ec && p->process->output_fd() >= 0) p->output_watch.assign(p->process->output_fd(), ec);
    // The process is killed and reaped with the operator that owns it, below.
    if (ec) {
      started = Status::IoError("cannot watch the step's process: " + ec.message() +
                                "; raise the open-file limit (ulimit -n) or run fewer steps at "
                                "once (--max-parallel)");
    }
  }
  if (!started.ok()) {
    // Within a launch, as an inline operator completes: no commit of its own.
    p->ctx->Error("{}", started.message());
    HandleCompletion({index, generation, started});
    Pump();
    return true;
  }
  tasks_[index].process = p;
  WatchExit(p);
  if (p->output_watch.is_open()) WatchOutput(p);
  return true;
}

void RunLoop::WatchExit(const std::shared_ptr<ProcessAttempt>& p) {
  p->exit_watch.async_wait(
      asio::posix::stream_descriptor::wait_read, [this, p](const boost::system::error_code& ec) {
        if (ec || p->finished) return;
        // Asio's reactor may wake a wait spuriously (an event meant for
        // a descriptor closed meanwhile): check before reaping.
        if (!p->process->HasExited()) {
          WatchExit(p);
          return;
        }
        p->exit_watch.release();  // Reap closes the pidfd
        p->grace_timer.cancel();
        p->reaped = p->process->Reap();
        if (p->process->output_fd() < 0) {
          FinishProcess(p);
          return;
        }
        // What the group wrote before it went is still in the pipe.
        p->drain_deadline = std::chrono::steady_clock::now() + kOutputDrainLimit;
        ReadProcessOutput(p);
      });
}

void RunLoop::WatchOutput(const std::shared_ptr<ProcessAttempt>& p) {
  p->output_watch.async_wait(asio::posix::stream_descriptor::wait_read,
                             [this, p](const boost::system::error_code& ec) {
                               if (ec || p->finished) return;
                               ReadProcessOutput(p);
                             });
}

void RunLoop::ReadProcessOutput(const std::shared_ptr<ProcessAttempt>& p) {
  switch (p->process->ReadOutput()) {
    case Process::Output::kMore:  // more is waiting: read it after other work, without a wait
      asio::post(io_, [this, p] {
        if (!p->finished) ReadProcessOutput(p);
      });
      return;
    case Process::Output::kDrained:
      if (p->reaped) AwaitQuietOutput(p);
      WatchOutput(p);
      return;
    case Process::Output::kEnd:
      p->output_watch.release();
      p->process->CloseOutput();
      if (p->reaped) FinishProcess(p);
      return;
  }
}

// After the exit, a pipe still open is held by a process that left the group: stop reading once
// it stays quiet for kOutputQuietLimit, or at the drain deadline.
void RunLoop::AwaitQuietOutput(const std::shared_ptr<ProcessAttempt>& p) {
  auto now = std::chrono::steady_clock::now();
  auto wait =
      std::min<std::chrono::steady_clock::duration>(kOutputQuietLimit, p->drain_deadline - now);
  uint64_t round = ++p->quiet_round;
  p->quiet_timer.expires_after(std::max<std::chrono::steady_clock::duration>(wait, {}));
  p->quiet_timer.async_wait([this, p, round](const boost::system::error_code& ec) {
    if (ec || p->finished || round != p->quiet_round) return;
    p->output_watch.release();
    p->process->CloseOutput();
    FinishProcess(p);
  });
}

void RunLoop::StopProcess(const std::shared_ptr<ProcessAttempt>& p) {
  if (p->reaped || p->cancelled) return;
  p->cancelled = true;
  p->process->Kill(SIGTERM);
  p->grace_timer.expires_after(p->step->kill_grace());
  p->grace_timer.async_wait([p](const boost::system::error_code& ec) {
    if (ec || p->reaped) return;
    p->killed = true;
    p->process->Kill(SIGKILL);
  });
}

void RunLoop::FinishProcess(const std::shared_ptr<ProcessAttempt>& p) {
  if (std::exchange(p->finished, true)) return;
  p->grace_timer.cancel();
  p->quiet_timer.cancel();
  Status status;
  if (!p->reaped->ok()) {
    status = p->reaped->status();
  } else {
    ProcessResult result = **p->reaped;
    result.cancelled = p->cancelled;
    result.killed_after_grace = p->killed;
    status = GuardOperatorCall([&] { return p->step->Finish(*p->ctx, result); });
  }
  if (!status.ok()) p->ctx->Error("{}", status.message());
  Task& t = tasks_[p->task];
  if (t.process == p) t.process.reset();
  HandleCompletion({p->task, p->generation, std::move(status)});
  Pump();
  Commit();
}

}  // namespace reel::scheduler_internal
