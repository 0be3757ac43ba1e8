#pragma once

#include <chrono>
#include <cstddef>
#include <optional>

#include "core/duration.hpp"

namespace flotilla {

// How many of one kind of expensive start to have in flight at once: SSH
// handshakes, or commands whose login shell is starting (CommandStarts).
// Many at once can slow each other down (a busy controller, hosts sharing
// machines, a shell profile doing heavy work) until each takes many times
// as long. The limit is found as it goes, like a congestion window: a
// start about as fast as the fastest seen (at most twice as long) is fast,
// one over `slow_factor` times as long is slow. Until the first slow start
// the limit grows by one with every fast one (it doubles each round), after
// it by one per round of fast ones; it shrinks by a quarter (at most once
// per round) on a slow one and halves on a timeout. Where starts do not
// slow each other down the limit soon reaches the ceiling (`forks`).
class StartGovernor {
 public:
  struct Settings {
    std::size_t initial = 8;
    std::size_t floor = 4;  // never fewer at once: even a struggling machine does a few
    // Added to both thresholds, so that a few milliseconds of jitter on a
    // start that takes only a few does not count as slow.
    Duration slack = Duration::zero();
    int slow_factor = 4;  // a start over this many times the fastest is slow
  };

  StartGovernor(std::size_t ceiling, Settings settings);

  std::size_t limit() const { return limit_; }
  std::optional<Duration> fastest() const { return fastest_; }
  void completed(Duration took);
  void timed_out();

 private:
  std::size_t ceiling_;
  Settings settings_;
  std::size_t limit_;
  std::optional<Duration> fastest_;
  std::size_t since_shrink_ = 0;  // completions since the limit last shrank
  bool seen_slow_ = false;        // a start was slow or timed out: grow gently
  std::size_t fast_since_growth_ = 0;
};

}  // namespace flotilla
