#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "playbooks/analysis_spec.hpp"

namespace flotilla {

// One metric on one changed host in one round of a step (`analysis` events).
struct AnalysisMeasurement {
  std::string step;  // "canary", "batch 2"
  long round = 0;    // 1..count
  std::string metric;
  std::string host;
  std::string query;  // as sent, the host substituted
  std::optional<double> value;
  std::optional<double> baseline;  // compare: baseline: the not-yet-changed hosts' mean
  std::optional<double> limit;     // what the value was held against
  std::string condition;           // "fail_if > 0.02"
  std::string verdict;             // passed, failed, inconclusive, skipped
  std::string why;                 // for inconclusive or skipped: no data, unreachable...
  std::string time;                // ISO
  nlohmann::json to_json() const;
};

// How a step ended (`analysis_verdict` events): passed, failed, or
// inconclusive, and what the rollout did about it (continue, roll back,
// stop, paused, resumed, aborted).
struct AnalysisVerdict {
  std::string step;
  std::string verdict;
  std::string action;
  long rounds = 0;  // measurements taken
  long failed = 0;
  long inconclusive = 0;
  std::string summary;  // names the metric, its value, the threshold and the hosts
  std::string by;       // resumed or aborted by whom (user@controller)
  std::string time;
  nlohmann::json to_json() const;
};

// The metrics as declared ({name, query, condition, compare}): what the
// snapshot keeps once per step and the change record shows.
nlohmann::json metrics_json(const std::vector<AnalysisMetric>& metrics);

// "error-rate 0.31 on h01 (fail_if > 0.02)": one measurement, for verdicts.
std::string describe_measurement(const AnalysisMeasurement& m);
// A measured value as verdicts print it: 4 significant digits ("0.2345").
std::string figure(double v);

}  // namespace flotilla
