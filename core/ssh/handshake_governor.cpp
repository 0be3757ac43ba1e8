#include "core/ssh/handshake_governor.hpp"

#include <algorithm>

namespace flotilla {
namespace {

// Never fewer handshakes at once than this: even a struggling machine does
// a few in parallel.
constexpr std::size_t kFloor = 4;

}  // namespace

HandshakeGovernor::HandshakeGovernor(std::size_t ceiling, std::size_t initial)
    : ceiling_(std::max<std::size_t>(ceiling, 1)),
      limit_(std::clamp(initial, std::min(kFloor, ceiling_), ceiling_)) {}

void HandshakeGovernor::completed(Duration took) {
  if (!fastest_ || took < *fastest_) fastest_ = took;
  ++since_shrink_;
  if (took <= 2 * *fastest_) {
    limit_ = std::min(limit_ + 1, ceiling_);
  } else if (took > 4 * *fastest_ && since_shrink_ >= limit_) {
    limit_ = std::max(limit_ * 3 / 4, std::min(kFloor, ceiling_));
    since_shrink_ = 0;
  }
}

void HandshakeGovernor::timed_out() {
  limit_ = std::max(limit_ / 2, std::min(kFloor, ceiling_));
  since_shrink_ = 0;
}

}  // namespace flotilla
