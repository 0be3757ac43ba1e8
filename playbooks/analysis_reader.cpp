#include "playbooks/analysis_reader.hpp"

#include <set>

#include <fmt/format.h>

#include "playbooks/metric_condition.hpp"
#include "playbooks/promql_template.hpp"

namespace flotilla {
namespace {

const std::vector<std::string> kAnalysisKeys = {"prometheus", "plain_http",    "interval",
                                                "count",      "failure_limit", "inconclusive",
                                                "metrics",    "traffic"};
const std::vector<std::string> kMetricKeys = {"name", "query", "fail_if", "success_if", "compare"};
const std::vector<std::string> kWatchKeys = {"for", "alert"};
const std::vector<std::string> kTrafficKeys = {"query", "min"};

void check_query(ConfigReader& in, const YamlNode& node, const std::string& what,
                 const std::string& query) {
  if (auto problem = promql_template_problem(query, analysis_query_variables()); !problem.empty()) {
    in.error(node, fmt::format("{}: {}", what, problem));
  }
}

std::optional<AnalysisMetric> read_metric(ConfigReader& in, const YamlNode& node,
                                          const std::string& what) {
  if (!in.check_mapping(node, what, kMetricKeys)) return std::nullopt;
  AnalysisMetric metric;
  metric.mark = node.mark;
  for (const char* key : {"name", "query"}) {
    if (!node.find(key)) in.error(node, fmt::format("{}: missing key '{}'", what, key));
  }
  if (auto* n = node.find("name")) {
    if (auto s = in.string(*n, what + ".name")) metric.name = *s;
  }
  if (auto* n = node.find("query")) {
    if (auto s = in.string(*n, what + ".query")) {
      metric.query = *s;
      check_query(in, *n, what + ".query", *s);
    }
  }
  if (auto* n = node.find("compare")) {
    if (auto s = in.string(*n, what + ".compare")) {
      if (*s == "baseline") {
        metric.against_baseline = true;
      } else {
        in.error(*n, fmt::format("{}.compare: expected 'baseline', found '{}'", what, *s));
      }
    }
  }
  const YamlNode* fail_if = node.find("fail_if");
  const YamlNode* success_if = node.find("success_if");
  if (fail_if && success_if) {
    in.error(*success_if, fmt::format("{}: either fail_if or success_if, not both", what));
  } else if (!fail_if && !success_if) {
    in.error(node, fmt::format("{}: missing key 'fail_if' (or 'success_if')", what));
  }
  if (const YamlNode* n = fail_if ? fail_if : success_if) {
    std::string key = what + (fail_if ? ".fail_if" : ".success_if");
    if (auto s = in.string(*n, key)) {
      auto condition = parse_metric_condition(*s, fail_if != nullptr);
      if (!condition) {
        in.error(*n, fmt::format("{}: expected a comparison like \"> 0.02\" (or \"> 1.5x\" with "
                                 "compare: baseline), found '{}'",
                                 key, *s));
      } else if (condition->factor && !metric.against_baseline) {
        in.error(*n, fmt::format("{}: '{}' is a factor of the baseline; add compare: baseline", key,
                                 *s));
      } else if (!condition->factor && metric.against_baseline) {
        in.error(*n, fmt::format("{}: with compare: baseline, expected a factor like \"> 1.5x\", "
                                 "found '{}'",
                                 key, *s));
      } else {
        metric.condition = *condition;
      }
    }
  }
  return metric;
}

std::optional<TrafficFloor> read_traffic(ConfigReader& in, const YamlNode& node,
                                         const std::string& what) {
  if (!in.check_mapping(node, what, kTrafficKeys)) return std::nullopt;
  TrafficFloor floor;
  floor.mark = node.mark;
  for (const char* key : {"query", "min"}) {
    if (!node.find(key)) in.error(node, fmt::format("{}: missing key '{}'", what, key));
  }
  if (auto* n = node.find("query")) {
    if (auto s = in.string(*n, what + ".query")) {
      floor.query = *s;
      check_query(in, *n, what + ".query", *s);
    }
  }
  if (auto* n = node.find("min")) {
    if (auto v = in.non_negative(*n, what + ".min", "what the query counts")) floor.min = *v;
  }
  return floor;
}

}  // namespace

const std::map<std::string, std::string>& analysis_query_variables() {
  static const std::map<std::string, std::string> known = {
      {"host", "h"}, {"unit", "u"}, {"environment", "e"}};
  return known;
}

void read_analysis(ConfigReader& in, const YamlNode& node, const std::string& what, Unit& unit) {
  if (!in.check_mapping(node, what, kAnalysisKeys)) return;
  AnalysisSpec analysis;
  analysis.mark = node.mark;
  if (auto* n = node.find("plain_http")) {
    if (auto b = in.boolean(*n, what + ".plain_http")) analysis.plain_http = *b;
  }
  if (auto* n = node.find("prometheus")) {
    if (auto s = in.string(*n, what + ".prometheus")) {
      analysis.prometheus = *s;
      bool https = s->starts_with("https://"), http = s->starts_with("http://");
      if (!https && !http) {
        in.error(*n, fmt::format("{}.prometheus: expected a URL like https://prometheus:9090, "
                                 "found '{}'",
                                 what, *s));
      } else if (http && !analysis.plain_http) {
        in.error(*n, fmt::format("{}.prometheus: '{}' is plain http; use https, or say "
                                 "plain_http: true",
                                 what, *s));
      }
    }
  } else {
    in.error(node, fmt::format("{}: missing key 'prometheus'", what));
  }
  if (auto* n = node.find("interval")) {
    if (auto d = in.duration(*n, what + ".interval")) {
      if (d->count() <= 0) {
        in.error(*n, fmt::format("{}.interval: must be longer than 0", what));
      } else {
        analysis.interval = *d;
      }
    }
  }
  if (auto* n = node.find("count")) {
    if (auto v = in.integer(*n, what + ".count", 1, 10000)) analysis.count = *v;
  }
  if (auto* n = node.find("failure_limit")) {
    if (auto v = in.integer(*n, what + ".failure_limit", 0, 10000)) analysis.failure_limit = *v;
  }
  if (analysis.failure_limit >= analysis.count) {
    in.error(node.find("failure_limit") ? *node.find("failure_limit") : node,
             fmt::format("{}.failure_limit: {} of {} measurements could fail and the step would "
                         "still pass; keep it below count",
                         what, analysis.failure_limit, analysis.count));
  }
  if (auto* n = node.find("inconclusive")) {
    if (auto s = in.string(*n, what + ".inconclusive")) {
      if (*s == "pause") {
        analysis.inconclusive = AnalysisSpec::Inconclusive::kPause;
      } else if (*s == "fail") {
        analysis.inconclusive = AnalysisSpec::Inconclusive::kFail;
      } else if (*s == "pass") {
        analysis.inconclusive = AnalysisSpec::Inconclusive::kPass;
      } else {
        in.error(
            *n, fmt::format("{}.inconclusive: expected pause, fail or pass, found '{}'", what, *s));
      }
    }
  }
  if (auto* n = node.find("metrics")) {
    if (!n->is_sequence()) {
      in.error(*n, fmt::format("{}.metrics: expected a list of metrics", what));
    } else {
      std::set<std::string> names;
      for (std::size_t i = 0; i < n->items.size(); ++i) {
        auto metric = read_metric(in, *n->items[i], fmt::format("{}.metrics[{}]", what, i));
        if (!metric) continue;
        if (!metric->name.empty() && !names.insert(metric->name).second) {
          in.error(*n->items[i], fmt::format("{}.metrics[{}]: a second metric named '{}'", what, i,
                                             metric->name));
        }
        analysis.metrics.push_back(std::move(*metric));
      }
    }
  }
  if (auto* n = node.find("traffic")) analysis.traffic = read_traffic(in, *n, what + ".traffic");
  unit.analysis = std::move(analysis);
}

void read_watch(ConfigReader& in, const YamlNode& node, const std::string& what, Unit& unit) {
  if (!in.check_mapping(node, what, kWatchKeys)) return;
  WatchSpec watch;
  watch.mark = node.mark;
  for (const char* key : {"for", "alert"}) {
    if (!node.find(key)) in.error(node, fmt::format("{}: missing key '{}'", what, key));
  }
  if (auto* n = node.find("for")) {
    if (auto d = in.duration(*n, what + ".for")) {
      if (d->count() <= 0) {
        in.error(*n, fmt::format("{}.for: must be longer than 0", what));
      } else {
        watch.for_ = *d;
      }
    }
  }
  if (auto* n = node.find("alert")) {
    if (auto s = in.string(*n, what + ".alert")) {
      watch.alert = *s;
      check_query(in, *n, what + ".alert", *s);
    }
  }
  unit.watch = std::move(watch);
}

const char* inconclusive_name(AnalysisSpec::Inconclusive inconclusive) {
  switch (inconclusive) {
    case AnalysisSpec::Inconclusive::kPause:
      return "pause";
    case AnalysisSpec::Inconclusive::kFail:
      return "fail";
    case AnalysisSpec::Inconclusive::kPass:
      return "pass";
  }
  return "?";
}

}  // namespace flotilla
