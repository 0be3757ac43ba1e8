#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/metrics_source.hpp"

namespace flotilla {

// Prometheus's HTTP API, instant queries only (GET /api/v1/query). A
// private CA is the system's; plain http only where the caller allowed it.
class PrometheusClient final : public MetricsSource {
 public:
  // `base_url`: "https://prometheus:9090" or with a path prefix.
  explicit PrometheusClient(const std::string& base_url,
                            Duration timeout = std::chrono::seconds(5));
  ~PrometheusClient();
  PrometheusClient(const PrometheusClient&) = delete;
  PrometheusClient& operator=(const PrometheusClient&) = delete;

  // The series the query returns now (a scalar is one series without
  // labels). kUnreachable when Prometheus does not answer; kFailed when it
  // refuses the query (its error says why).
  Result<std::vector<PromSample>> query(const std::string& promql) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The body of a /api/v1/query answer, read as above; malformed is kFailed.
Result<std::vector<PromSample>> parse_prometheus_answer(const std::string& body);

}  // namespace flotilla
