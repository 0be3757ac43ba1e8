#pragma once

#include <optional>
#include <string>

#include "playbooks/analysis_spec.hpp"

namespace flotilla {

// "> 0.02", ">= 5", "< 1.5x": nullopt when `text` is none of these.
// `fail_if` says which key it came from.
std::optional<MetricCondition> parse_metric_condition(const std::string& text, bool fail_if);

// Whether `value` fails `condition`; a factor condition compares against
// `factor` times `baseline`.
bool fails_condition(const MetricCondition& condition, double value, double baseline = 0);

// The limit a value is compared with: the threshold, or factor × baseline.
double condition_limit(const MetricCondition& condition, double baseline = 0);

}  // namespace flotilla
