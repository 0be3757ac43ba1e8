#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace game {

// What players feel, for Prometheus: every request the service answers,
// counted by status code (http_requests_total), and how long it took
// (http_request_duration_seconds, a histogram), served at /metrics in the
// text exposition format 0.0.4 (checked by `promtool check metrics`).
class HttpMetrics {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   5};
  void observe(int status, std::chrono::duration<double> took);
  // The exposition: the two families above and game_build_info.
  std::string exposition(const std::string& service, const std::string& release,
                         const std::string& commit) const;

 private:
  mutable std::mutex mutex_;
  std::map<int, unsigned long long> requests_;  // by status code
  std::array<unsigned long long, kBuckets.size()> buckets_{};
  unsigned long long count_ = 0;
  double sum_ = 0;
};

}  // namespace game
