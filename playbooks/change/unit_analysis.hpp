#pragma once

#include <memory>

#include "core/metrics_source.hpp"
#include "playbooks/analysis_judge.hpp"
#include "playbooks/change/change_context.hpp"
#include "playbooks/change/prepared_change.hpp"
#include "playbooks/lock_host/rollout_board.hpp"

namespace flotilla {

// The unit's analysis for this change, when its kind is judged and it
// declares metrics: where it asks (Prometheus, or the context's source)
// and the judge the rollout calls after each batch.
struct UnitAnalysis {
  std::unique_ptr<MetricsSource> source;
  std::unique_ptr<AnalysisJudge> judge;
};

// Null when nothing judges this change. `board`: the lock host's, where a
// paused step waits (null: a pause is a failure).
std::unique_ptr<UnitAnalysis> analysis_for(const ChangeContext& context,
                                           const PreparedChange& prepared, RolloutBoard* board);

// Where the unit's analysis asks: the context's source, else Prometheus.
std::unique_ptr<MetricsSource> metrics_source_for(const ChangeContext& context,
                                                  const AnalysisSpec& spec);

}  // namespace flotilla
