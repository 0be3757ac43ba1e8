#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/reporter.hpp"
#include "core/transport.hpp"
#include "playbooks/analysis_result.hpp"
#include "playbooks/batch_planner.hpp"
#include "playbooks/push_progress.hpp"

namespace flotilla {

struct RolloutResult;

// One step on one balancer for one host (`balancer` events): drain (with
// the sessions left), maint, weight, ready, up (with HAProxy's status).
struct BalancerStep {
  std::string host;
  std::string balancer;  // the balancer host
  std::string action;
  long sessions = -1;  // drain, maint: current sessions; -1: not counted
  long weight = -1;    // weight: the server's new weight
  std::string status;  // ready, up: HAProxy's status words
};

// What a rollout says as it goes, and nothing else: the rollout
// (playbooks/rollout) only calls these; what a person or a CI job sees is
// each observer's business (as ninja's Status is for its builder). The text
// lines (RolloutText), the live view of a batch (RolloutView) and the JSON
// events (RolloutEvents) are observers; a test records the calls. A new
// rollout event is a method here, and a line in each observer that shows it.
// Called from the rollout's thread only; `host_output` from the transport's.
class RolloutObserver {
 public:
  virtual ~RolloutObserver() = default;
  // Every changing host is about to receive what it lacks; `watched` are
  // the pushes whose bytes can be followed.
  virtual void push_started(std::size_t /*hosts*/,
                            const std::vector<PushProgress::Host>& /*watched*/) {}
  virtual void host_push(const std::string& /*host*/, std::size_t /*files*/, std::size_t /*bytes*/,
                         bool /*from_registry*/) {}
  virtual void push_finished() {}
  // `index` counts from 0; `of` is the number of batches.
  virtual void batch_started(std::size_t /*index*/, std::size_t /*of*/, const Batch& /*batch*/) {}
  virtual void host_started(const std::string& /*host*/, std::size_t /*batch*/, bool /*restart*/) {}
  // A chunk of a host's standard output while it activates or goes back.
  virtual void host_output(const std::string& /*host*/, std::string_view /*chunk*/) {}
  // A host's push or activation ended; `output` is what it printed, when it ran.
  virtual void host_done(const std::string& /*host*/, bool /*ok*/, const std::string& /*detail*/,
                         const Result<CommandResult>* /*output*/) {}
  virtual void batch_done(std::size_t /*index*/, std::size_t /*failed*/) {}
  virtual void rollback_started(std::size_t /*batch*/, const std::vector<std::string>& /*hosts*/) {}
  virtual void host_rolled_back(const std::string& /*host*/, bool /*ok*/,
                                const Result<CommandResult>& /*output*/) {}
  virtual void rollback_done() {}
  virtual void baking(Duration /*bake*/) {}
  virtual void balancer(const BalancerStep& /*step*/) {}
  // One metric on one host in one round of a step's analysis.
  virtual void analysis(const AnalysisMeasurement& /*measurement*/) {}
  // A step's verdict, and what the rollout does about it (paused: it waits
  // for `resume` or `abort`; then their verdict follows).
  virtual void analysis_verdict(const AnalysisVerdict& /*verdict*/) {}
  virtual void rollout_done(const RolloutResult& /*result*/) {}
};

// Several observers as one, told in order.
class RolloutObservers final : public RolloutObserver {
 public:
  void add(std::unique_ptr<RolloutObserver> observer) { owned_.push_back(std::move(observer)); }
  void push_started(std::size_t hosts, const std::vector<PushProgress::Host>& watched) override;
  void host_push(const std::string& host, std::size_t files, std::size_t bytes,
                 bool from_registry) override;
  void push_finished() override;
  void batch_started(std::size_t index, std::size_t of, const Batch& batch) override;
  void host_started(const std::string& host, std::size_t batch, bool restart) override;
  void host_output(const std::string& host, std::string_view chunk) override;
  void host_done(const std::string& host, bool ok, const std::string& detail,
                 const Result<CommandResult>* output) override;
  void batch_done(std::size_t index, std::size_t failed) override;
  void rollback_started(std::size_t batch, const std::vector<std::string>& hosts) override;
  void host_rolled_back(const std::string& host, bool ok,
                        const Result<CommandResult>& output) override;
  void rollback_done() override;
  void baking(Duration bake) override;
  void balancer(const BalancerStep& step) override;
  void analysis(const AnalysisMeasurement& measurement) override;
  void analysis_verdict(const AnalysisVerdict& verdict) override;
  void rollout_done(const RolloutResult& result) override;

 private:
  std::vector<std::unique_ptr<RolloutObserver>> owned_;
};

// The observers a command's reporter shows a rollout with: the text lines,
// the live view and the JSON events.
std::unique_ptr<RolloutObserver> reported_rollout(Reporter& reporter, std::string kind,
                                                  long snapshot, std::string artifact);

}  // namespace flotilla
