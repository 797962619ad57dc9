#include "engine/time/clock.h"

#include <algorithm>

namespace reel {

using std::chrono::sys_seconds;

sys_seconds SystemClock::Now() const {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

bool SystemClock::SleepUntil(sys_seconds deadline) {
  std::unique_lock lock(mu_);
  // Waits in short slices against system_clock so a wall-clock step (NTP) is noticed.
  while (!interrupted_) {
    const auto now = std::chrono::system_clock::now();
    if (now >= deadline) return true;
    const auto slice =
        std::min<std::chrono::system_clock::duration>(deadline - now, std::chrono::seconds{1});
    cv_.wait_for(lock, slice);
  }
  return false;
}

void SystemClock::Interrupt() {
  {
    std::lock_guard lock(mu_);
    interrupted_ = true;
  }
  cv_.notify_all();
}

sys_seconds FakeClock::Now() const {
  std::lock_guard lock(mu_);
  return now_;
}

bool FakeClock::SleepUntil(sys_seconds deadline) {
  std::unique_lock lock(mu_);
  if (mode_ == Mode::kAutoAdvance) {
    if (interrupted_) return false;
    if (now_ < deadline) now_ = deadline;
    ++wakeups_;
    return true;
  }
  cv_.wait(lock, [&] { return interrupted_ || now_ >= deadline; });
  if (interrupted_) return false;
  ++wakeups_;
  return true;
}

void FakeClock::Interrupt() {
  {
    std::lock_guard lock(mu_);
    interrupted_ = true;
  }
  cv_.notify_all();
}

void FakeClock::Set(sys_seconds now) {
  {
    std::lock_guard lock(mu_);
    now_ = now;
  }
  cv_.notify_all();
}

void FakeClock::Advance(std::chrono::seconds by) {
  {
    std::lock_guard lock(mu_);
    now_ += by;
  }
  cv_.notify_all();
}

int FakeClock::wakeups() const {
  std::lock_guard lock(mu_);
  return wakeups_;
}

}  // namespace reel
