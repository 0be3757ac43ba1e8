#include "playbooks/rollout_observer.hpp"

#include "playbooks/rollout_events.hpp"
#include "playbooks/rollout_text.hpp"
#include "playbooks/rollout_view.hpp"

namespace flotilla {

void RolloutObservers::push_started(std::size_t hosts,
                                    const std::vector<PushProgress::Host>& watched) {
  for (auto& o : owned_) o->push_started(hosts, watched);
}
void RolloutObservers::host_push(const std::string& host, std::size_t files, std::size_t bytes,
                                 bool from_registry) {
  for (auto& o : owned_) o->host_push(host, files, bytes, from_registry);
}
void RolloutObservers::push_finished() {
  for (auto& o : owned_) o->push_finished();
}
void RolloutObservers::batch_started(std::size_t index, std::size_t of, const Batch& batch) {
  for (auto& o : owned_) o->batch_started(index, of, batch);
}
void RolloutObservers::host_started(const std::string& host, std::size_t batch, bool restart) {
  for (auto& o : owned_) o->host_started(host, batch, restart);
}
void RolloutObservers::host_output(const std::string& host, std::string_view chunk) {
  for (auto& o : owned_) o->host_output(host, chunk);
}
void RolloutObservers::host_done(const std::string& host, bool ok, const std::string& detail,
                                 const Result<CommandResult>* output) {
  for (auto& o : owned_) o->host_done(host, ok, detail, output);
}
void RolloutObservers::batch_done(std::size_t index, std::size_t failed) {
  for (auto& o : owned_) o->batch_done(index, failed);
}
void RolloutObservers::rollback_started(std::size_t batch, const std::vector<std::string>& hosts) {
  for (auto& o : owned_) o->rollback_started(batch, hosts);
}
void RolloutObservers::host_rolled_back(const std::string& host, bool ok,
                                        const Result<CommandResult>& output) {
  for (auto& o : owned_) o->host_rolled_back(host, ok, output);
}
void RolloutObservers::rollback_done() {
  for (auto& o : owned_) o->rollback_done();
}
void RolloutObservers::baking(Duration bake) {
  for (auto& o : owned_) o->baking(bake);
}
void RolloutObservers::balancer(const BalancerStep& step) {
  for (auto& o : owned_) o->balancer(step);
}

void RolloutObservers::analysis(const AnalysisMeasurement& measurement) {
  for (auto& o : owned_) o->analysis(measurement);
}

void RolloutObservers::analysis_verdict(const AnalysisVerdict& verdict) {
  for (auto& o : owned_) o->analysis_verdict(verdict);
}
void RolloutObservers::rollout_done(const RolloutResult& result) {
  for (auto& o : owned_) o->rollout_done(result);
}

std::unique_ptr<RolloutObserver> reported_rollout(Reporter& reporter, std::string kind,
                                                  long snapshot, std::string artifact) {
  auto all = std::make_unique<RolloutObservers>();
  // The live view first: a host's row is finished before its output is shown.
  all->add(std::make_unique<RolloutView>(reporter));
  all->add(std::make_unique<RolloutText>(reporter));
  all->add(
      std::make_unique<RolloutEvents>(reporter, std::move(kind), snapshot, std::move(artifact)));
  return all;
}

}  // namespace flotilla
