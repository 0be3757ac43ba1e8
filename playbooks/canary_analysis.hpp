#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/metrics_source.hpp"
#include "playbooks/analysis_result.hpp"
#include "playbooks/analysis_spec.hpp"

namespace flotilla {

// What one analysis step measured and concluded (before the rollout's
// policy for "inconclusive" applies).
struct AnalysisStepResult {
  AnalysisVerdict verdict;  // action left empty
  std::vector<AnalysisMeasurement> measurements;
  bool interrupted = false;
};

// Runs a unit's `analysis:` for one rollout step: `count` rounds, one every
// `interval` (the first after one interval, so the changed hosts have
// served), each asking every metric for every changed host. A round fails
// when any metric fails on any host; it is inconclusive when one has no
// answer (no data, NaN, several series, Prometheus unreachable) and none
// failed. The step fails as soon as more than `failure_limit` rounds failed;
// after the last round it is inconclusive when failed and inconclusive
// rounds together pass the limit, else it passed. Never a pass on no data.
// With `traffic:`, a host whose traffic reads below the floor has its round
// inconclusive and its metrics are not judged (no players is no evidence).
class CanaryAnalysis {
 public:
  using MeasuredFn = std::function<void(const AnalysisMeasurement&)>;
  // `variables`: {{unit}} and {{environment}}; {{host}} is each host's name.
  CanaryAnalysis(const AnalysisSpec& spec, std::map<std::string, std::string> variables,
                 MetricsSource& source, Clock& clock);

  // `baseline`: the hosts not yet changed (compare: baseline metrics are
  // skipped when there are none).
  AnalysisStepResult run_step(const std::string& step, const std::vector<std::string>& changed,
                              const std::vector<std::string>& baseline, const MeasuredFn& measured,
                              const std::function<bool()>& interrupted);

 private:
  // One metric on one host: its value, or why there is none.
  struct Reading {
    std::optional<double> value;
    std::string query;
    std::string why;
  };
  Reading read(const std::string& query_template, const std::string& host);
  // The traffic floor's reading on `host` (metric "traffic"): passed, or
  // inconclusive below `traffic.min` or without data.
  AnalysisMeasurement traffic_of(const std::string& host);
  std::optional<double> baseline_of(const AnalysisMetric& metric,
                                    const std::vector<std::string>& hosts, std::string& why);
  // Sleeps `d` in short steps; false when interrupted meanwhile.
  bool wait(Duration d, const std::function<bool()>& interrupted);

  const AnalysisSpec& spec_;
  std::map<std::string, std::string> variables_;
  MetricsSource& source_;
  Clock& clock_;
};

}  // namespace flotilla
