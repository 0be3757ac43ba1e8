#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

#include "playbooks/analysis_judge.hpp"
#include "playbooks/canary_analysis.hpp"
#include "playbooks/metric_condition.hpp"
#include "playbooks/promql_template.hpp"
#include "support/manual_clock.hpp"
#include "support/recording_observer.hpp"

namespace flotilla {
namespace {

using test::RecordingObserver;

// Answers each query from a table by the host it names; records what it was asked.
class TableSource final : public MetricsSource {
 public:
  std::map<std::string, std::vector<PromSample>> answers;  // query -> series
  std::optional<Error> down;
  std::vector<std::string> asked;
  Result<std::vector<PromSample>> query(const std::string& promql) override {
    asked.push_back(promql);
    if (down) return tl::unexpected(*down);
    auto it = answers.find(promql);
    if (it == answers.end()) return std::vector<PromSample>{};
    return it->second;
  }
};

const std::string kQuery = R"(sum(rate(errors{host="{{host}}"}[1m])))";
std::string query_for(const std::string& host) {
  return R"(sum(rate(errors{host=")" + host + R"("}[1m])))";
}

AnalysisSpec spec_with(const std::string& condition, bool baseline = false) {
  AnalysisSpec spec;
  spec.prometheus = "https://p";
  spec.interval = std::chrono::seconds(10);
  spec.count = 4;
  spec.failure_limit = 1;
  AnalysisMetric metric;
  metric.name = "errors";
  metric.query = kQuery;
  metric.against_baseline = baseline;
  metric.condition = *parse_metric_condition(condition, true);
  spec.metrics.push_back(metric);
  return spec;
}

AnalysisStepResult run(const AnalysisSpec& spec, TableSource& source, ManualClock& clock,
                       std::vector<std::string> changed, std::vector<std::string> baseline = {}) {
  CanaryAnalysis analysis(spec, {{"unit", "game"}, {"environment", "prod"}}, source, clock);
  return analysis.run_step(
      "canary", changed, baseline, [](const AnalysisMeasurement&) {}, [] { return false; });
}

}  // namespace

TEST_CASE("PromQL templates: a host name is a label value, escaped, and can break no query") {
  std::map<std::string, std::string> vars = {{"host", R"(h"1\})"}};
  auto plain = render_promql(R"(up{host="{{host}}"})", vars);
  REQUIRE(plain);
  CHECK(*plain == R"(up{host="h\"1\\}"})");
  auto single = render_promql(R"(up{host='{{host}}'})", {{"host", "a'b\nc"}});
  REQUIRE(single);
  CHECK(*single == R"(up{host='a\'b\nc'})");
  // After =~ the value is also a literal of the regular expression.
  auto regex = render_promql(R"(up{host=~"{{host}}"})", {{"host", "h.1|.*"}});
  REQUIRE(regex);
  CHECK(*regex == R"(up{host=~"h\\.1\\|\\.\\*"})");
  // Anywhere but a quoted label value, or an unknown variable, is refused.
  CHECK_FALSE(render_promql(R"(up{host={{host}}})", vars));
  CHECK_FALSE(render_promql(R"(up + {{host}})", vars));
  CHECK_FALSE(render_promql(R"(label_replace(up, "x", "{{host}}", "", ""))", vars));
  CHECK_FALSE(render_promql("up{host=`{{host}}`}", vars));
  CHECK_FALSE(render_promql(R"(up{job="{{job}}"})", vars));
  CHECK(promql_template_problem(R"(up{host="{{host}}", a="}}{{"})", vars).empty() == false);
}

TEST_CASE("analysis: a step fails once more rounds fail than failure_limit, and stops there") {
  ManualClock clock;
  TableSource source;
  source.answers[query_for("h01")] = {{{}, 0.3}};
  auto spec = spec_with("> 0.02");
  auto result = run(spec, source, clock, {"h01"});
  CHECK(result.verdict.verdict == "failed");
  CHECK(result.verdict.rounds == 2);  // failure_limit 1: the second failure ends it
  CHECK(result.verdict.summary.find("errors 0.3 on h01 (fail_if > 0.02)") != std::string::npos);
  CHECK(source.asked == std::vector<std::string>{query_for("h01"), query_for("h01")});
  REQUIRE(result.measurements.size() == 2);
  CHECK(*result.measurements[0].value == doctest::Approx(0.3));
  CHECK(*result.measurements[0].limit == doctest::Approx(0.02));
}

TEST_CASE("analysis: a good host passes every round; one bad round is within failure_limit") {
  ManualClock clock;
  TableSource source;
  source.answers[query_for("h01")] = {{{}, 0.001}};
  auto passed = run(spec_with("> 0.02"), source, clock, {"h01"});
  CHECK(passed.verdict.verdict == "passed");
  CHECK(passed.verdict.rounds == 4);
  // success_if holds the other way round.
  AnalysisSpec success = spec_with("> 0.02");
  success.metrics[0].condition = *parse_metric_condition("< 0.02", false);
  CHECK(run(success, source, clock, {"h01"}).verdict.verdict == "passed");
  source.answers[query_for("h01")] = {{{}, 0.5}};
  CHECK(run(success, source, clock, {"h01"}).verdict.verdict == "failed");
}

TEST_CASE(
    "analysis: no data, NaN, several series and Prometheus down are inconclusive, never a "
    "pass") {
  ManualClock clock;
  TableSource source;
  auto spec = spec_with("> 0.02");
  CHECK(run(spec, source, clock, {"h01"}).verdict.verdict == "inconclusive");  // no data
  source.answers[query_for("h01")] = {{{}, std::numeric_limits<double>::quiet_NaN()}};
  CHECK(run(spec, source, clock, {"h01"}).verdict.verdict == "inconclusive");
  source.answers[query_for("h01")] = {{{{"code", "500"}}, 0.1}, {{{"code", "503"}}, 0.1}};
  auto several = run(spec, source, clock, {"h01"});
  CHECK(several.verdict.verdict == "inconclusive");
  CHECK(several.measurements[0].why.find("2 series") != std::string::npos);
  source.down = Error{ErrorKind::kUnreachable, "Prometheus https://p: cannot connect"};
  auto down = run(spec, source, clock, {"h01"});
  CHECK(down.verdict.verdict == "inconclusive");
  CHECK(down.verdict.summary.find("cannot connect") != std::string::npos);
}

TEST_CASE("analysis: below the traffic floor a host's round is inconclusive, never a pass") {
  ManualClock clock;
  TableSource source;
  const std::string traffic = R"(sum(rate(requests{host="h01"}[1m])))";
  auto spec = spec_with("> 0.02");
  spec.traffic = TrafficFloor{R"(sum(rate(requests{host="{{host}}"}[1m])))", 0.5, {}};
  // No players: the error rate reads 0 and would pass; the floor says nothing is known.
  source.answers[query_for("h01")] = {{{}, 0.0}};
  source.answers[traffic] = {{{}, 0.1}};
  auto quiet = run(spec, source, clock, {"h01"});
  CHECK(quiet.verdict.verdict == "inconclusive");
  CHECK(quiet.verdict.inconclusive == 4);
  CHECK(quiet.verdict.summary.find("traffic on h01: 0.1 below traffic.min 0.5") !=
        std::string::npos);
  // The error rate was not asked: nothing judged it.
  CHECK(std::count(source.asked.begin(), source.asked.end(), query_for("h01")) == 0);
  REQUIRE(quiet.measurements.size() == 4);
  CHECK(quiet.measurements[0].metric == "traffic");
  CHECK(*quiet.measurements[0].value == doctest::Approx(0.1));
  // No traffic series at all is no floor met either.
  source.answers.erase(traffic);
  CHECK(run(spec, source, clock, {"h01"}).verdict.verdict == "inconclusive");
  // Players back: the same error rate is judged and passes.
  source.answers[traffic] = {{{}, 12.0}};
  auto busy = run(spec, source, clock, {"h01"});
  CHECK(busy.verdict.verdict == "passed");
  CHECK(busy.measurements.size() == 8);  // traffic and errors, every round
  // A failing host still fails the round when another host is quiet.
  source.answers[query_for("h02")] = {{{}, 0.4}};
  source.answers[R"(sum(rate(requests{host="h02"}[1m])))"] = {{{}, 9.0}};
  source.answers[traffic] = {{{}, 0.0}};
  CHECK(run(spec, source, clock, {"h01", "h02"}).verdict.verdict == "failed");
}

TEST_CASE("analysis: compare: baseline holds the canary against the unchanged hosts' mean") {
  ManualClock clock;
  TableSource source;
  source.answers[query_for("h02")] = {{{}, 0.1}};
  source.answers[query_for("h03")] = {{{}, 0.3}};
  source.answers[query_for("h01")] = {{{}, 0.4}};  // twice the baseline's 0.2
  auto spec = spec_with("> 1.5x", true);
  auto slow = run(spec, source, clock, {"h01"}, {"h02", "h03"});
  CHECK(slow.verdict.verdict == "failed");
  CHECK(*slow.measurements[0].baseline == doctest::Approx(0.2));
  CHECK(*slow.measurements[0].limit == doctest::Approx(0.3));
  source.answers[query_for("h01")] = {{{}, 0.25}};
  CHECK(run(spec, source, clock, {"h01"}, {"h02", "h03"}).verdict.verdict == "passed");
  // No host left to compare with (the last batch): skipped, and the step passes on the rest.
  auto last = run(spec, source, clock, {"h01"}, {});
  CHECK(last.verdict.verdict == "passed");
  CHECK(last.measurements[0].verdict == "skipped");
}

TEST_CASE("analysis judge: inconclusive follows the unit's rule; a pause waits for the board") {
  ManualClock clock;
  TableSource source;  // no data at all
  RecordingObserver observer;
  auto spec = spec_with("> 0.02");
  AnalysisJudge::Where where{"prod", "game", true};

  spec.inconclusive = AnalysisSpec::Inconclusive::kPass;
  AnalysisJudge passing(spec, where, source, clock, nullptr);
  CHECK(passing.judge("canary", {"h01"}, {}, observer, [] { return false; }).verdict ==
        Judgement::Verdict::kPassed);

  spec.inconclusive = AnalysisSpec::Inconclusive::kFail;
  AnalysisJudge failing(spec, where, source, clock, nullptr);
  auto failed = failing.judge("canary", {"h01"}, {}, observer, [] { return false; });
  CHECK(failed.verdict == Judgement::Verdict::kFailed);
  CHECK(failed.record["verdict"] == "inconclusive");

  // Paused without a board to take a decision: a failure, never a pass.
  spec.inconclusive = AnalysisSpec::Inconclusive::kPause;
  AnalysisJudge unboarded(spec, where, source, clock, nullptr);
  CHECK(unboarded.judge("canary", {"h01"}, {}, observer, [] { return false; }).verdict ==
        Judgement::Verdict::kFailed);
}

}  // namespace flotilla
