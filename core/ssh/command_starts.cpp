#include "core/ssh/command_starts.hpp"

#include <algorithm>

namespace flotilla {
namespace {

using std::chrono::milliseconds;

// Two at first, so the fastest start is measured with little else running;
// where starts do not slow each other, the limit doubles with every round of
// them. The slack keeps a few milliseconds of network jitter on a shell that
// starts in five from counting as slow. Starts that queue on a lock vary
// widely (one waiter is lucky, the next polls again), so only eight times
// the fastest is slow: at four, 200 hosts of this lab took 14.3 s where
// eight took 13.7 s (medians of three, in turn).
constexpr StartGovernor::Settings kPace{
    .initial = 2, .floor = 2, .slack = milliseconds(50), .slow_factor = 8};

// Far past what the governor calls slow (eight times the fastest): starts
// queued on one lock are sometimes very slow, and one taken for a long
// command too soon stops counting while it still starts. A run lifts its
// pacing only once more of its commands have outlasted the window than have
// answered within it.
constexpr int kWindowFactor = 32;
constexpr Duration kWindowMin = milliseconds(2000);
constexpr Duration kWindowMax = milliseconds(10000);
constexpr Duration kWindowUnknown = kWindowMin;  // before any start has answered

}  // namespace

CommandStarts::CommandStarts(std::size_t ceiling) : governor_(ceiling, kPace) {}

void CommandStarts::answered(Duration took) {
  ++answered_;
  if (starting_ > 0) --starting_;
  governor_.completed(took);
}

void CommandStarts::outlasted() {
  if (starting_ > 0) --starting_;
  ++outlasted_;
  if (outlasted_ > answered_) lifted_ = true;
}

void CommandStarts::dropped() {
  if (starting_ > 0) --starting_;
}

Duration CommandStarts::window() const {
  auto fastest = governor_.fastest();
  if (!fastest) return kWindowUnknown;
  return std::clamp(kWindowFactor * *fastest, kWindowMin, kWindowMax);
}

}  // namespace flotilla
