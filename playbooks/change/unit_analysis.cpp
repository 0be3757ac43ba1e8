#include "playbooks/change/unit_analysis.hpp"

#include "core/prometheus_client.hpp"

namespace flotilla {

std::unique_ptr<MetricsSource> metrics_source_for(const ChangeContext& context,
                                                  const AnalysisSpec& spec) {
  if (context.metrics_source) return context.metrics_source(spec);
  return std::make_unique<PrometheusClient>(spec.prometheus);
}

std::unique_ptr<UnitAnalysis> analysis_for(const ChangeContext& context,
                                           const PreparedChange& prepared, RolloutBoard* board) {
  const Unit& unit = prepared.unit();
  if (!unit.analysis || unit.analysis->metrics.empty() ||
      !rules_of(prepared.plan.kind).judged_by_analysis || prepared.plan.batches.empty()) {
    return nullptr;
  }
  auto analysis = std::make_unique<UnitAnalysis>();
  analysis->source = metrics_source_for(context, *unit.analysis);
  AnalysisJudge::Where where{context.targets.environment->name, unit.name,
                             unit.rollout.auto_rollback};
  analysis->judge = std::make_unique<AnalysisJudge>(*unit.analysis, where, *analysis->source,
                                                    *context.clock, board);
  return analysis;
}

}  // namespace flotilla
