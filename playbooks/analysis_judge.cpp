#include "playbooks/analysis_judge.hpp"

#include <fmt/format.h>

namespace flotilla {
namespace {

constexpr Duration kDecisionPoll = std::chrono::seconds(2);

}  // namespace

AnalysisJudge::AnalysisJudge(const AnalysisSpec& spec, Where where, MetricsSource& source,
                             Clock& clock, RolloutBoard* board)
    : spec_(spec),
      where_(std::move(where)),
      clock_(clock),
      analysis_(spec, {{"unit", where_.unit}, {"environment", where_.environment}}, source, clock),
      board_(board) {}

Judgement AnalysisJudge::judge(const std::string& step, const std::vector<std::string>& changed,
                               const std::vector<std::string>& baseline, RolloutObserver& observer,
                               const std::function<bool()>& interrupted) {
  auto measured = [&observer](const AnalysisMeasurement& m) { observer.analysis(m); };
  AnalysisStepResult result = analysis_.run_step(step, changed, baseline, measured, interrupted);
  AnalysisVerdict verdict = result.verdict;
  std::vector<AnalysisVerdict> verdicts;
  Judgement judgement;
  const char* failing = where_.auto_rollback ? "roll back" : "stop";
  bool stopped = result.interrupted;
  if (stopped) {
    verdict.action = "interrupted";
  } else if (verdict.verdict == "passed") {
    verdict.action = "continue";
  } else if (verdict.verdict == "failed") {
    verdict.action = failing;
  } else {
    switch (spec_.inconclusive) {
      case AnalysisSpec::Inconclusive::kPass:
        verdict.action = "continue (inconclusive: pass)";
        break;
      case AnalysisSpec::Inconclusive::kFail:
        verdict.action = fmt::format("{} (inconclusive: fail)", failing);
        break;
      case AnalysisSpec::Inconclusive::kPause:
        verdict.action = "paused";
        verdict.summary += fmt::format(
            "; the rollout waits, holding the lock: `flotilla resume {} {}` goes on, `flotilla "
            "abort {} {}` sends the batch back",
            where_.environment, where_.unit, where_.environment, where_.unit);
        break;
    }
  }
  observer.analysis_verdict(verdict);
  verdicts.push_back(verdict);
  if (verdict.action == "paused") {
    verdict = wait_for_decision(verdict, observer, interrupted, stopped);
    verdicts.push_back(verdict);
  }
  judgement.record = step_record(result, verdicts);
  if (stopped) {
    judgement.verdict = Judgement::Verdict::kInterrupted;
  } else if (verdict.action.starts_with("continue") || verdict.action == "resumed") {
    judgement.verdict = Judgement::Verdict::kPassed;
  } else {
    judgement.verdict = Judgement::Verdict::kFailed;
    judgement.why =
        verdict.action == "aborted"
            ? fmt::format("analysis of {} aborted by {} ({})", step, verdict.by, verdict.summary)
            : fmt::format("analysis of {} {}: {}", step, verdict.verdict, verdict.summary);
  }
  return judgement;
}

AnalysisVerdict AnalysisJudge::wait_for_decision(AnalysisVerdict paused, RolloutObserver& observer,
                                                 const std::function<bool()>& interrupted,
                                                 bool& stopped) {
  AnalysisVerdict decided = paused;
  decided.verdict = "failed";
  decided.action = "aborted";
  if (!board_) {
    decided.action = "roll back";
    decided.summary = "paused, but no lock host takes a decision; " + paused.summary;
    return decided;
  }
  if (auto posted = board_->post(where_.unit, "paused"); !posted) {
    decided.action = "roll back";
    decided.summary = "paused, but " + posted.error().message + "; " + paused.summary;
    observer.analysis_verdict(decided);
    return decided;
  }
  bool warned = false;
  while (true) {
    if (interrupted()) {
      stopped = true;
      decided.verdict = "inconclusive";
      decided.action = "interrupted";
      break;
    }
    clock_.sleep_for(kDecisionPoll);
    auto said = board_->read();
    if (!said) {
      if (!warned)
        observer.analysis_verdict({paused.step, "inconclusive", "paused", 0, 0, 0,
                                   "still paused; " + said.error().message, "",
                                   iso_time(clock_.wall_seconds())});
      warned = true;
      continue;
    }
    if (!*said) continue;
    decided.by = (*said)->by;
    if ((*said)->word == "resume") {
      decided.verdict = "passed";
      decided.action = "resumed";
      break;
    }
    if ((*said)->word == "abort") break;
  }
  (void)board_->clear();
  decided.time = iso_time(clock_.wall_seconds());
  if (!stopped) observer.analysis_verdict(decided);
  return decided;
}

nlohmann::json AnalysisJudge::step_record(const AnalysisStepResult& step,
                                          const std::vector<AnalysisVerdict>& verdicts) const {
  nlohmann::json metrics = metrics_json(spec_.metrics);
  // Kept once per step: the step, and the query (the template, above).
  nlohmann::json measurements = nlohmann::json::array();
  for (const auto& m : step.measurements) {
    nlohmann::json row = m.to_json();
    for (const char* kept_above : {"step", "query", "condition"}) row.erase(kept_above);
    measurements.push_back(std::move(row));
  }
  nlohmann::json said = nlohmann::json::array();
  for (const auto& v : verdicts) said.push_back(v.to_json());
  const AnalysisVerdict& last = verdicts.back();
  return {{"step", step.verdict.step}, {"verdict", last.verdict}, {"action", last.action},
          {"summary", last.summary},   {"metrics", metrics},      {"measurements", measurements},
          {"verdicts", said}};
}

}  // namespace flotilla
