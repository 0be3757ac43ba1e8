#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/source_mark.hpp"

namespace flotilla {

// A metric's threshold as written: "> 0.02", "<= 250", "> 1.5x" (a factor
// of the baseline's value, only with `compare: baseline`).
struct MetricCondition {
  enum class Op { kGreater, kGreaterOrEqual, kLess, kLessOrEqual };
  Op op = Op::kGreater;
  double threshold = 0;
  bool factor = false;  // "1.5x": threshold times the baseline's value
  bool fail_if = true;  // fail_if (true) or success_if (false)
  std::string text;     // as written, for verdicts: "fail_if > 0.02"
};

// One query the analysis asks Prometheus for every changed host.
struct AnalysisMetric {
  std::string name;
  std::string query;  // PromQL; {{host}}, {{unit}}, {{environment}} only as label values
  MetricCondition condition;
  bool against_baseline = false;  // `compare: baseline`: the not-yet-changed hosts, same query
  SourceMark mark;
};

// `traffic:`: the floor under which a host's measurements say nothing (no
// players: an error rate of 0 of nothing). A round where a changed host's
// traffic query reads below `min`, or nothing, is inconclusive on that host.
struct TrafficFloor {
  std::string query;  // PromQL, templated as a metric's (e.g. requests per second)
  double min = 0;
  SourceMark mark;
};

// `analysis:`: a rollout step (the canary's bake, each batch) passes only
// when the metrics players feel say so.
struct AnalysisSpec {
  std::string prometheus;  // base URL; https unless plain_http
  bool plain_http = false;
  Duration interval = std::chrono::seconds(10);
  long count = 6;          // measurements per step
  long failure_limit = 1;  // failed measurements a step tolerates
  enum class Inconclusive { kPause, kFail, kPass };
  Inconclusive inconclusive = Inconclusive::kPause;  // what "no data" means
  std::vector<AnalysisMetric> metrics;
  std::optional<TrafficFloor> traffic;
  SourceMark mark;
};

// `watch:`: for `for` after a change's last batch, a firing `alert` (a
// PromQL query; any series it returns is firing) rolls the change back once.
struct WatchSpec {
  Duration for_ = std::chrono::minutes(10);
  std::string alert;
  SourceMark mark;
};

const char* inconclusive_name(AnalysisSpec::Inconclusive inconclusive);

}  // namespace flotilla
