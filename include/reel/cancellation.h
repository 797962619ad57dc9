// Cooperative cancellation of one attempt: part of the operator SDK (include/reel/operator.h),
// also used by the engine's child processes.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace reel {

// Set once when the attempt must stop (timeout, cancel, engine shutdown). Operators poll
// cancelled() in their loops, or sleep with WaitFor so that a cancel wakes them at once.
class CancellationToken {
 public:
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }
  void Cancel() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled_.store(true, std::memory_order_release);
    }
    cv_.notify_all();
  }
  // Sleeps up to `d`; returns true if cancelled meanwhile (or before).
  template <typename Rep, typename Period>
  bool WaitFor(std::chrono::duration<Rep, Period> d) const {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, d, [this] { return cancelled(); });
  }

 private:
  std::atomic<bool> cancelled_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
};

}  // namespace reel
