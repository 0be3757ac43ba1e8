#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

#include "core/duration.hpp"

namespace flotilla {

// How many new SSH connections to open at once. Established connections
// are never limited; only handshakes are, because many at once slow each
// other down (on a busy controller, or hosts sharing machines) until each
// takes many times as long and some time out. The limit is found as it
// goes, like a congestion window: it grows by one with every handshake
// about as fast as the fastest seen (at most twice as long), holds while
// they take up to four times as long, shrinks by a quarter (once per
// window) when they take longer, and halves when one times out. On a fleet
// whose hosts do their own work, handshakes do not slow each other down and
// the limit soon reaches the ceiling (`forks`).
class HandshakeGovernor {
 public:
  explicit HandshakeGovernor(std::size_t ceiling, std::size_t initial = 8);

  std::size_t limit() const { return limit_; }
  // A handshake finished: TCP connect to logged in.
  void completed(Duration took);
  // A handshake timed out.
  void timed_out();

 private:
  std::size_t ceiling_;
  std::size_t limit_;
  std::optional<Duration> fastest_;
  std::size_t since_shrink_ = 0;  // completions since the limit last shrank
};

}  // namespace flotilla
