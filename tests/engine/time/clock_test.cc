#include "engine/time/clock.h"

#include <thread>

#include <doctest/doctest.h>

#include "engine/time/cron.h"

using namespace reel;
using std::chrono::sys_seconds;

namespace {
sys_seconds At(const char* iso) { return *ParseIsoInstant(iso); }
}  // namespace

TEST_CASE("FakeClock auto-advance jumps to each deadline") {
  FakeClock clock(At("2026-11-30T00:00:00Z"));
  CHECK(clock.Now() == At("2026-11-30T00:00:00Z"));
  CHECK(clock.SleepUntil(At("2026-11-30T03:00:00Z")));
  CHECK(clock.Now() == At("2026-11-30T03:00:00Z"));
  // A deadline in the past returns at once without moving the clock back.
  CHECK(clock.SleepUntil(At("2026-11-29T00:00:00Z")));
  CHECK(clock.Now() == At("2026-11-30T03:00:00Z"));
  clock.Advance(std::chrono::hours{1});
  CHECK(clock.Now() == At("2026-11-30T04:00:00Z"));
  clock.Set(At("2026-01-01T00:00:00Z"));
  CHECK(clock.Now() == At("2026-01-01T00:00:00Z"));
  CHECK(clock.wakeups() == 2);
  clock.Interrupt();
  CHECK_FALSE(clock.SleepUntil(At("2027-01-01T00:00:00Z")));
  CHECK(clock.Now() == At("2026-01-01T00:00:00Z"));
}

TEST_CASE("FakeClock manual mode blocks until another thread moves time") {
  FakeClock clock(At("2026-11-30T00:00:00Z"), FakeClock::Mode::kManual);
  bool reached = false;
  std::thread sleeper([&] { reached = clock.SleepUntil(At("2026-11-30T00:10:00Z")); });
  clock.Advance(std::chrono::minutes{5});
  clock.Advance(std::chrono::minutes{5});
  sleeper.join();
  CHECK(reached);
  CHECK(clock.wakeups() == 1);

  bool interrupted_result = true;
  std::thread waiter([&] { interrupted_result = clock.SleepUntil(At("2030-01-01T00:00:00Z")); });
  clock.Interrupt();
  waiter.join();
  CHECK_FALSE(interrupted_result);
}

TEST_CASE("SystemClock returns from past deadlines and after Interrupt") {
  SystemClock clock;
  const sys_seconds now = clock.Now();
  CHECK(now > At("2020-01-01T00:00:00Z"));
  CHECK(clock.SleepUntil(now - std::chrono::seconds{1}));
  std::thread interrupter([&] { clock.Interrupt(); });
  // Without the interrupt this would sleep for an hour.
  CHECK_FALSE(clock.SleepUntil(now + std::chrono::hours{1}));
  interrupter.join();
}
