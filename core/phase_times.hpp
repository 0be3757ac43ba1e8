#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace flotilla {

// Where a change's time went, phase by phase (start, lock, prepare, push,
// each batch, record): the one-line summary every change ends with, and
// the same figures in its `phases` event, so a slow phase shows without a
// profiler.
class PhaseTimes {
 public:
  using Clock = std::chrono::steady_clock;

  // Ends the running phase (if any) and starts `name`.
  void begin(std::string name);
  // Ends the running phase.
  void end();
  // A phase measured elsewhere.
  void add(std::string name, double seconds);

  const std::vector<std::pair<std::string, double>>& phases() const { return phases_; }
  // "start 0.3s · lock 0.1s · prepare 0.9s · push 3.1s · batch 1 1.0s — 5.4s"
  std::string summary() const;
  nlohmann::json to_json() const;

 private:
  std::vector<std::pair<std::string, double>> phases_;
  std::string running_;
  Clock::time_point since_{};
};

// When this process started (its static initialization): the first phase
// of a change counts from here.
PhaseTimes::Clock::time_point process_start();

// Seconds since `since`.
double seconds_since(PhaseTimes::Clock::time_point since);

}  // namespace flotilla
