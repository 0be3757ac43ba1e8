#pragma once

#include <optional>

#include "playbooks/rollout_observer.hpp"

namespace flotilla {

// A rollout as lines for a person: the push with its bytes (PushProgress),
// each batch as it starts, the bake, and with -v everything a host printed.
class RolloutText final : public RolloutObserver {
 public:
  explicit RolloutText(Reporter& reporter) : reporter_(reporter) {}
  void push_started(std::size_t hosts, const std::vector<PushProgress::Host>& watched) override;
  void push_finished() override;
  void batch_started(std::size_t index, std::size_t of, const Batch& batch) override;
  void host_done(const std::string& host, bool ok, const std::string& detail,
                 const Result<CommandResult>* output) override;
  void host_rolled_back(const std::string& host, bool ok,
                        const Result<CommandResult>& output) override;
  void baking(Duration bake) override;
  void balancer(const BalancerStep& step) override;
  void analysis(const AnalysisMeasurement& measurement) override;
  void analysis_verdict(const AnalysisVerdict& verdict) override;

 private:
  void show_output(const std::string& host, const Result<CommandResult>& output);
  Reporter& reporter_;
  std::optional<PushProgress> progress_;
};

}  // namespace flotilla
