#pragma once

#include <chrono>
#include <cstdint>

#include "core/duration.hpp"

namespace flotilla {

// Time as a change sees it: a monotonic clock for waits (the canary bake,
// the lock wait), the wall clock for calendars (freeze windows, rehearsal
// age), and sleeping. The change workflow reads time only through one, so a
// test can hand it a clock it advances by hand (tests/support/manual_clock)
// and run an hour's bake in a millisecond.
class Clock {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() = 0;
  virtual std::int64_t wall_seconds() = 0;  // seconds since the epoch
  virtual void sleep_for(Duration duration) = 0;
};

// The machine's clocks.
Clock& system_clock();

}  // namespace flotilla
