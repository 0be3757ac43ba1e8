#include "playbooks/canary_analysis.hpp"

#include <cmath>
#include <set>

#include <fmt/format.h>

#include "playbooks/metric_condition.hpp"
#include "playbooks/promql_template.hpp"

namespace flotilla {

CanaryAnalysis::CanaryAnalysis(const AnalysisSpec& spec,
                               std::map<std::string, std::string> variables, MetricsSource& source,
                               Clock& clock)
    : spec_(spec), variables_(std::move(variables)), source_(source), clock_(clock) {}

bool CanaryAnalysis::wait(Duration d, const std::function<bool()>& interrupted) {
  const Duration step = std::chrono::milliseconds(500);
  while (d.count() > 0) {
    if (interrupted()) return false;
    Duration now = std::min(d, step);
    clock_.sleep_for(now);
    d -= now;
  }
  return !interrupted();
}

CanaryAnalysis::Reading CanaryAnalysis::read(const std::string& query_template,
                                             const std::string& host) {
  Reading reading;
  auto values = variables_;
  values["host"] = host;
  auto query = render_promql(query_template, values);
  if (!query) {
    reading.why = query.error().message;
    return reading;
  }
  reading.query = *query;
  auto answer = source_.query(*query);
  if (!answer) {
    reading.why = answer.error().message;
  } else if (answer->empty()) {
    reading.why = "no data";
  } else if (answer->size() > 1) {
    reading.why = fmt::format("{} series; the query must return one (aggregate it, e.g. sum)",
                              answer->size());
  } else if (std::isnan(answer->front().value)) {
    reading.why = "no data (NaN)";
  } else {
    reading.value = answer->front().value;
  }
  return reading;
}

std::optional<double> CanaryAnalysis::baseline_of(const AnalysisMetric& metric,
                                                  const std::vector<std::string>& hosts,
                                                  std::string& why) {
  double sum = 0;
  long seen = 0;
  for (const auto& host : hosts) {
    Reading r = read(metric.query, host);
    if (!r.value) {
      why = fmt::format("baseline {}: {}", host, r.why);
      return std::nullopt;
    }
    sum += *r.value;
    ++seen;
  }
  return seen ? std::optional<double>(sum / static_cast<double>(seen)) : std::nullopt;
}

AnalysisMeasurement CanaryAnalysis::traffic_of(const std::string& host) {
  const TrafficFloor& floor = *spec_.traffic;
  AnalysisMeasurement m;
  m.metric = "traffic";
  m.host = host;
  m.condition = fmt::format("min {}", figure(floor.min));
  m.limit = floor.min;
  Reading r = read(floor.query, host);
  m.query = r.query;
  m.value = r.value;
  if (!r.value) {
    m.verdict = "inconclusive";
    m.why = r.why + " (traffic: too few requests to judge)";
  } else if (*r.value < floor.min) {
    m.verdict = "inconclusive";
    m.why = fmt::format("{} below traffic.min {}: too few requests to judge", figure(*r.value),
                        figure(floor.min));
  } else {
    m.verdict = "passed";
  }
  return m;
}

AnalysisStepResult CanaryAnalysis::run_step(const std::string& step,
                                            const std::vector<std::string>& changed,
                                            const std::vector<std::string>& baseline,
                                            const MeasuredFn& measured,
                                            const std::function<bool()>& interrupted) {
  AnalysisStepResult result;
  AnalysisVerdict& verdict = result.verdict;
  verdict.step = step;
  std::vector<std::string> failures;  // the latest failed round's readings
  std::string last_inconclusive;
  for (long round = 1; round <= spec_.count; ++round) {
    if (!wait(spec_.interval, interrupted)) {
      result.interrupted = true;
      break;
    }
    bool round_failed = false, round_inconclusive = false;
    std::vector<std::string> round_failures;
    const std::string time = iso_time(clock_.wall_seconds());
    // Below the traffic floor a host's metrics say nothing this round: its
    // round is inconclusive, never a pass.
    std::set<std::string> quiet;
    if (spec_.traffic) {
      for (const auto& host : changed) {
        AnalysisMeasurement m = traffic_of(host);
        m.step = step;
        m.round = round;
        m.time = time;
        if (m.verdict == "inconclusive") {
          quiet.insert(host);
          round_inconclusive = true;
          last_inconclusive = describe_measurement(m);
        }
        measured(m);
        result.measurements.push_back(std::move(m));
      }
    }
    for (const auto& metric : spec_.metrics) {
      std::optional<double> base;
      std::string base_why;
      if (metric.against_baseline) {
        if (baseline.empty()) {
          base_why = "no host left unchanged to compare with";
        } else {
          base = baseline_of(metric, baseline, base_why);
        }
      }
      for (const auto& host : changed) {
        if (quiet.contains(host)) continue;
        AnalysisMeasurement m;
        m.step = step;
        m.round = round;
        m.metric = metric.name;
        m.host = host;
        m.condition = metric.condition.text;
        m.time = time;
        if (metric.against_baseline && baseline.empty()) {
          m.verdict = "skipped";
          m.why = base_why;
          if (auto q = render_promql(metric.query, [&] {
                auto v = variables_;
                v["host"] = host;
                return v;
              }())) {
            m.query = *q;
          }
        } else {
          Reading r = read(metric.query, host);
          m.query = r.query;
          m.value = r.value;
          if (metric.against_baseline) m.baseline = base;
          if (!r.value || (metric.against_baseline && !base)) {
            m.verdict = "inconclusive";
            m.why = r.value ? base_why : r.why;
            round_inconclusive = true;
            last_inconclusive = describe_measurement(m);
          } else {
            m.limit = condition_limit(metric.condition, base.value_or(0));
            bool failed = fails_condition(metric.condition, *r.value, base.value_or(0));
            m.verdict = failed ? "failed" : "passed";
            if (failed) {
              round_failed = true;
              round_failures.push_back(describe_measurement(m));
            }
          }
        }
        measured(m);
        result.measurements.push_back(std::move(m));
      }
    }
    ++verdict.rounds;
    if (round_failed) {
      ++verdict.failed;
      failures = std::move(round_failures);
    } else if (round_inconclusive) {
      ++verdict.inconclusive;
    }
    if (verdict.failed > spec_.failure_limit) break;
  }
  verdict.time = iso_time(clock_.wall_seconds());
  const std::string tally =
      fmt::format("{} of {} round(s) failed, {} inconclusive (failure_limit {})", verdict.failed,
                  verdict.rounds, verdict.inconclusive, spec_.failure_limit);
  if (verdict.failed > spec_.failure_limit) {
    verdict.verdict = "failed";
    verdict.summary = fmt::format("{}: {}", fmt::join(failures, "; "), tally);
  } else if (result.interrupted) {
    verdict.verdict = "inconclusive";
    verdict.summary = "interrupted after " + tally;
  } else if (verdict.failed + verdict.inconclusive > spec_.failure_limit) {
    verdict.verdict = "inconclusive";
    verdict.summary = fmt::format("{}: {}", last_inconclusive, tally);
  } else {
    verdict.verdict = "passed";
    verdict.summary = tally;
  }
  return result;
}

}  // namespace flotilla
