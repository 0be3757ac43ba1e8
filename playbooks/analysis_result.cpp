#include "playbooks/analysis_result.hpp"

#include <cmath>

#include <fmt/format.h>

namespace flotilla {
namespace {

nlohmann::json number_or_null(const std::optional<double>& v) {
  if (!v || std::isnan(*v) || std::isinf(*v)) return nullptr;
  return *v;
}

}  // namespace

std::string figure(double v) { return fmt::format("{:.4g}", v); }

nlohmann::json AnalysisMeasurement::to_json() const {
  nlohmann::json doc{
      {"step", step},           {"round", round},     {"metric", metric},
      {"host", host},           {"query", query},     {"value", number_or_null(value)},
      {"condition", condition}, {"verdict", verdict}, {"time", time}};
  if (baseline) doc["baseline"] = number_or_null(baseline);
  if (limit) doc["limit"] = number_or_null(limit);
  if (!why.empty()) doc["why"] = why;
  return doc;
}

nlohmann::json AnalysisVerdict::to_json() const {
  nlohmann::json doc{{"step", step},       {"verdict", verdict}, {"action", action},
                     {"rounds", rounds},   {"failed", failed},   {"inconclusive", inconclusive},
                     {"summary", summary}, {"time", time}};
  if (!by.empty()) doc["by"] = by;
  return doc;
}

nlohmann::json metrics_json(const std::vector<AnalysisMetric>& metrics) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& m : metrics) {
    out.push_back({{"name", m.name},
                   {"query", m.query},
                   {"condition", m.condition.text},
                   {"compare", m.against_baseline ? "baseline" : ""}});
  }
  return out;
}

std::string describe_measurement(const AnalysisMeasurement& m) {
  if (m.verdict == "inconclusive" || m.verdict == "skipped") {
    return fmt::format("{} on {}: {}", m.metric, m.host, m.why);
  }
  std::string value = m.value ? figure(*m.value) : "?";
  if (m.baseline) {
    return fmt::format("{} {} on {} against the baseline's {} ({}, limit {})", m.metric, value,
                       m.host, figure(*m.baseline), m.condition, m.limit ? figure(*m.limit) : "?");
  }
  return fmt::format("{} {} on {} ({})", m.metric, value, m.host, m.condition);
}

}  // namespace flotilla
