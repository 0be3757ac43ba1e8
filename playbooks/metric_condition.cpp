#include "playbooks/metric_condition.hpp"

#include <cmath>
#include <regex>

namespace flotilla {

std::optional<MetricCondition> parse_metric_condition(const std::string& text, bool fail_if) {
  static const std::regex form(
      R"(\s*(>=|<=|>|<)\s*([0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)\s*(x?)\s*)");
  std::smatch m;
  if (!std::regex_match(text, m, form)) return std::nullopt;
  MetricCondition condition;
  const std::string op = m[1];
  condition.op = op == ">"    ? MetricCondition::Op::kGreater
                 : op == ">=" ? MetricCondition::Op::kGreaterOrEqual
                 : op == "<"  ? MetricCondition::Op::kLess
                              : MetricCondition::Op::kLessOrEqual;
  condition.threshold = std::stod(m[2]);
  condition.factor = m[5] == "x";
  condition.fail_if = fail_if;
  condition.text = std::string(fail_if ? "fail_if " : "success_if ") + op + " " + m[2].str() +
                   (condition.factor ? "x" : "");
  return condition;
}

double condition_limit(const MetricCondition& condition, double baseline) {
  return condition.factor ? condition.threshold * baseline : condition.threshold;
}

bool fails_condition(const MetricCondition& condition, double value, double baseline) {
  const double limit = condition_limit(condition, baseline);
  bool holds = false;
  switch (condition.op) {
    case MetricCondition::Op::kGreater:
      holds = value > limit;
      break;
    case MetricCondition::Op::kGreaterOrEqual:
      holds = value >= limit;
      break;
    case MetricCondition::Op::kLess:
      holds = value < limit;
      break;
    case MetricCondition::Op::kLessOrEqual:
      holds = value <= limit;
      break;
  }
  return condition.fail_if ? holds : !holds;
}

}  // namespace flotilla
