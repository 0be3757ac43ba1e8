#include "core/ssh/start_governor.hpp"

#include <algorithm>

namespace flotilla {

StartGovernor::StartGovernor(std::size_t ceiling, Settings settings)
    : ceiling_(std::max<std::size_t>(ceiling, 1)),
      settings_(settings),
      limit_(std::clamp(settings.initial, std::min(settings.floor, ceiling_), ceiling_)) {}

void StartGovernor::completed(Duration took) {
  if (!fastest_ || took < *fastest_) fastest_ = took;
  ++since_shrink_;
  if (took <= 2 * *fastest_ + settings_.slack) {
    // Before the first slow start, one more per fast one (the limit doubles
    // with every round); after it, one more per round of fast ones.
    if (!seen_slow_ || ++fast_since_growth_ >= limit_) {
      limit_ = std::min(limit_ + 1, ceiling_);
      fast_since_growth_ = 0;
    }
  } else if (took > settings_.slow_factor * *fastest_ + settings_.slack &&
             since_shrink_ >= limit_) {
    limit_ = std::max(limit_ * 3 / 4, std::min(settings_.floor, ceiling_));
    since_shrink_ = 0;
    seen_slow_ = true;
  }
}

void StartGovernor::timed_out() {
  limit_ = std::max(limit_ / 2, std::min(settings_.floor, ceiling_));
  since_shrink_ = 0;
  seen_slow_ = true;
}

}  // namespace flotilla
