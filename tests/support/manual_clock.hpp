#pragma once

#include <functional>
#include <mutex>
#include <vector>

#include "core/clock.hpp"

namespace flotilla {

// A clock that moves only when slept on (or advanced): waits of minutes run
// in microseconds, and every sleep is recorded.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t wall = 1'800'000'000) : wall_(wall) {}
  TimePoint now() override {
    std::lock_guard lock(mutex_);
    return TimePoint{} + elapsed_;
  }
  std::int64_t wall_seconds() override {
    std::lock_guard lock(mutex_);
    return wall_ + std::chrono::duration_cast<std::chrono::seconds>(elapsed_).count();
  }
  void sleep_for(Duration duration) override {
    {
      std::lock_guard lock(mutex_);
      sleeps.push_back(duration);
      elapsed_ += duration;
    }
    if (on_sleep) on_sleep();
  }
  void advance(Duration duration) {
    std::lock_guard lock(mutex_);
    elapsed_ += duration;
  }
  Duration elapsed() {
    std::lock_guard lock(mutex_);
    return elapsed_;
  }
  std::vector<Duration> sleeps;
  std::function<void()> on_sleep;  // what the world does while the caller sleeps

 private:
  std::mutex mutex_;
  std::int64_t wall_;
  Duration elapsed_{};
};

}  // namespace flotilla
