#include "core/phase_times.hpp"

#include <fmt/format.h>

namespace flotilla {
namespace {

const PhaseTimes::Clock::time_point kProcessStart = PhaseTimes::Clock::now();

}  // namespace

PhaseTimes::Clock::time_point process_start() { return kProcessStart; }

double seconds_since(PhaseTimes::Clock::time_point since) {
  return std::chrono::duration<double>(PhaseTimes::Clock::now() - since).count();
}

void PhaseTimes::begin(std::string name) {
  end();
  running_ = std::move(name);
  since_ = Clock::now();
}

void PhaseTimes::end() {
  if (running_.empty()) return;
  phases_.emplace_back(std::move(running_), seconds_since(since_));
  running_.clear();
}

void PhaseTimes::add(std::string name, double seconds) {
  phases_.emplace_back(std::move(name), seconds);
}

std::string PhaseTimes::summary() const {
  std::string out;
  double total = 0;
  for (const auto& [name, seconds] : phases_) {
    out += fmt::format("{}{} {:.1f}s", out.empty() ? "" : " · ", name, seconds);
    total += seconds;
  }
  return fmt::format("{} — {:.1f}s", out, total);
}

nlohmann::json PhaseTimes::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  double total = 0;
  for (const auto& [name, seconds] : phases_) {
    list.push_back({{"name", name}, {"seconds", seconds}});
    total += seconds;
  }
  return {{"phases", list}, {"seconds", total}};
}

}  // namespace flotilla
