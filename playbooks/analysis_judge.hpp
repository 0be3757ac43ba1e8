#pragma once

#include <string>

#include "core/clock.hpp"
#include "core/metrics_source.hpp"
#include "playbooks/analysis_spec.hpp"
#include "playbooks/batch_judge.hpp"
#include "playbooks/canary_analysis.hpp"
#include "playbooks/lock_host/rollout_board.hpp"

namespace flotilla {

// The judge a unit's `analysis:` makes: its step's verdict, with the unit's
// rule for "inconclusive" applied. `pause` posts the rollout as paused on
// the lock host's board and waits (holding the lock) until someone at any
// controller says `flotilla resume ENV UNIT` (the step passes) or `flotilla
// abort ENV UNIT` (it fails).
class AnalysisJudge final : public BatchJudge {
 public:
  struct Where {
    std::string environment;
    std::string unit;
    bool auto_rollback = true;  // what a failed step does, for its verdict's words
  };
  AnalysisJudge(const AnalysisSpec& spec, Where where, MetricsSource& source, Clock& clock,
                RolloutBoard* board);

  Judgement judge(const std::string& step, const std::vector<std::string>& changed,
                  const std::vector<std::string>& baseline, RolloutObserver& observer,
                  const std::function<bool()>& interrupted) override;

 private:
  // Paused: waits for a decision on the board; the final verdict.
  AnalysisVerdict wait_for_decision(AnalysisVerdict paused, RolloutObserver& observer,
                                    const std::function<bool()>& interrupted, bool& stopped);
  nlohmann::json step_record(const AnalysisStepResult& step,
                             const std::vector<AnalysisVerdict>& verdicts) const;

  const AnalysisSpec& spec_;
  Where where_;
  Clock& clock_;
  CanaryAnalysis analysis_;
  RolloutBoard* board_;
};

}  // namespace flotilla
