#include "common/http_metrics.hpp"

#include <cstdio>

namespace game {
namespace {

// A label value as the exposition format wants it: \, " and newline escaped.
std::string label_value(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string number(double v) {
  char text[64];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

}  // namespace

void HttpMetrics::observe(int status, std::chrono::duration<double> took) {
  std::lock_guard lock(mutex_);
  ++requests_[status];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (took.count() <= kBuckets[i]) ++buckets_[i];
  }
  ++count_;
  sum_ += took.count();
}

std::string HttpMetrics::exposition(const std::string& service, const std::string& release,
                                    const std::string& commit) const {
  std::lock_guard lock(mutex_);
  std::string out;
  out += "# HELP http_requests_total Requests answered, by status code.\n";
  out += "# TYPE http_requests_total counter\n";
  // Both outcomes exist from the start: an error-rate query has data
  // before the first error.
  std::map<int, unsigned long long> shown = requests_;
  shown.try_emplace(200, 0);
  shown.try_emplace(500, 0);
  for (const auto& [code, n] : shown) {
    out += "http_requests_total{code=\"" + std::to_string(code) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP http_request_duration_seconds Time to answer a request.\n";
  out += "# TYPE http_request_duration_seconds histogram\n";
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    out += "http_request_duration_seconds_bucket{le=\"" + number(kBuckets[i]) + "\"} " +
           std::to_string(buckets_[i]) + "\n";
  }
  out += "http_request_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += "http_request_duration_seconds_sum " + number(sum_) + "\n";
  out += "http_request_duration_seconds_count " + std::to_string(count_) + "\n";
  out += "# HELP game_build_info The build this process runs (always 1).\n";
  out += "# TYPE game_build_info gauge\n";
  out += "game_build_info{service=\"" + label_value(service) + "\",release=\"" +
         label_value(release) + "\",commit=\"" + label_value(commit) + "\"} 1\n";
  return out;
}

}  // namespace game
