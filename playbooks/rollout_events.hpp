#pragma once

#include <string>

#include "playbooks/rollout_observer.hpp"

namespace flotilla {

// A rollout as JSON events (`--json`: host_push, host_started, host_done,
// batch_done, host_rolled_back, deploy_done), one line each.
class RolloutEvents final : public RolloutObserver {
 public:
  RolloutEvents(Reporter& reporter, std::string kind, long snapshot, std::string artifact)
      : reporter_(reporter),
        kind_(std::move(kind)),
        snapshot_(snapshot),
        artifact_(std::move(artifact)) {}
  void host_push(const std::string& host, std::size_t files, std::size_t bytes,
                 bool from_registry) override;
  void host_started(const std::string& host, std::size_t batch, bool restart) override;
  void host_done(const std::string& host, bool ok, const std::string& detail,
                 const Result<CommandResult>* output) override;
  void batch_done(std::size_t index, std::size_t failed) override;
  void host_rolled_back(const std::string& host, bool ok,
                        const Result<CommandResult>& output) override;
  void balancer(const BalancerStep& step) override;
  void analysis(const AnalysisMeasurement& measurement) override;
  void analysis_verdict(const AnalysisVerdict& verdict) override;
  void rollout_done(const RolloutResult& result) override;

 private:
  Reporter& reporter_;
  std::string kind_;
  long snapshot_;
  std::string artifact_;
};

}  // namespace flotilla
