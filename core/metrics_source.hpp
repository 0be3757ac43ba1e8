#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace flotilla {

// One series of an instant query's answer.
struct PromSample {
  std::map<std::string, std::string> labels;
  double value = 0;  // may be NaN or ±Inf, as Prometheus says
};

// Where an analysis asks its queries: Prometheus (core/prometheus_client),
// or a test's table of answers.
class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  // The series `promql` returns now. kUnreachable: no answer at all.
  virtual Result<std::vector<PromSample>> query(const std::string& promql) = 0;
};

}  // namespace flotilla
