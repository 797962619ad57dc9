// Clock: where time comes from, so that the daemon and backfill can run against a fake one
// in tests. Instants are whole seconds, in UTC.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace reel {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::sys_seconds Now() const = 0;
  // Blocks until Now() >= deadline (returns true) or Interrupt() was called (returns false).
  // Returns at once when the deadline has passed. Safe to call from several threads.
  virtual bool SleepUntil(std::chrono::sys_seconds deadline) = 0;
  // Wakes every sleeper; from then on SleepUntil returns false at once. Used for shutdown,
  // so it is sticky: an Interrupt() that races ahead of a SleepUntil is not lost.
  virtual void Interrupt() = 0;
};

// The real wall clock (system_clock, floored to the second).
class SystemClock final : public Clock {
 public:
  std::chrono::sys_seconds Now() const override;
  bool SleepUntil(std::chrono::sys_seconds deadline) override;
  void Interrupt() override;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;  // guarded by mu_
};

// A clock that only moves when told to. Two modes:
//   - auto-advance (default): SleepUntil jumps the clock to the deadline and returns, so
//     single-threaded code that waits for hours runs instantly;
//   - manual: SleepUntil blocks until another thread calls Set/Advance past the deadline.
class FakeClock final : public Clock {
 public:
  enum class Mode { kAutoAdvance, kManual };
  explicit FakeClock(std::chrono::sys_seconds start, Mode mode = Mode::kAutoAdvance)
      : now_(start), mode_(mode) {}

  std::chrono::sys_seconds Now() const override;
  bool SleepUntil(std::chrono::sys_seconds deadline) override;
  void Interrupt() override;

  // Moves the clock (it may move backwards, to test clock jumps) and wakes sleepers.
  void Set(std::chrono::sys_seconds now);
  void Advance(std::chrono::seconds by);
  // How many SleepUntil calls have returned because their deadline was reached.
  int wakeups() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::chrono::sys_seconds now_;  // guarded by mu_
  const Mode mode_;
  bool interrupted_ = false;  // guarded by mu_
  int wakeups_ = 0;           // guarded by mu_
};

}  // namespace reel
