#include "core/clock.hpp"

#include <ctime>
#include <thread>

namespace flotilla {
namespace {

class SystemClock final : public Clock {
 public:
  TimePoint now() override { return std::chrono::steady_clock::now(); }
  std::int64_t wall_seconds() override { return std::time(nullptr); }
  void sleep_for(Duration duration) override { std::this_thread::sleep_for(duration); }
};

}  // namespace

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

}  // namespace flotilla
