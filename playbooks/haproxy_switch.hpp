#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/transport.hpp"
#include "playbooks/haproxy_answer.hpp"
#include "playbooks/project.hpp"
#include "playbooks/traffic_switch.hpp"

namespace flotilla {

// Each unit host's server name in the balancer's backend (`server:`, each
// {{variable}} from the host's variables), checked against HAProxy's
// character set. kBadInput names the host whose name is unusable.
Result<std::map<std::string, std::string>> balancer_servers(
    const BalancerSpec& balancer,
    const std::map<std::string, std::map<std::string, std::string>>& host_vars);

// What one balancer host reports for the backend, or why it could not.
struct BalancerView {
  std::string balancer;
  Result<std::vector<HaproxyServer>> servers;
};

// The unit's HAProxy balancers, each reached over `transport` (host i is
// balancer_hosts[i]) and driven by balancer.sh through its runtime API
// socket. Thread: the rollout's.
class HaproxySwitch final : public TrafficSwitch {
 public:
  // `up_wait`: how long a host may take to be UP once ready (at least
  // spec.drain): HAProxy's own checks must see it first.
  HaproxySwitch(BalancerSpec spec, std::vector<std::string> balancer_hosts,
                std::unique_ptr<Transport> transport, std::map<std::string, std::string> servers,
                Duration up_wait = std::chrono::seconds(30));

  // Every balancer's view of the backend, read at once.
  std::vector<BalancerView> read();
  // Before a change: every one of `hosts` is a server of the backend on
  // every balancer that answers (else kFailed naming them; a balancer that
  // does not answer is kUnreachable). Returns each host already out of
  // rotation somewhere, with where ("lb1 MAINT").
  Result<std::map<std::string, std::string>> check(const std::vector<std::string>& hosts);
  // The host a server name belongs to ("" for a server of another unit).
  std::string host_of(const std::string& server) const;
  const std::string& server_of(const std::string& host) const { return servers_.at(host); }

  Failures take_out(const std::vector<std::string>& hosts, RolloutObserver& observer) override;
  Failures put_back(const std::vector<std::string>& hosts, RolloutObserver& observer) override;
  Result<void> weigh_canaries(const std::vector<std::string>& canaries, double percent,
                              RolloutObserver& observer) override;
  Result<void> restore_weights(RolloutObserver& observer) override;
  // Sets each host's server back to its initial weight (`balancer ready`:
  // weights a lost controller left).
  Result<void> reset_weights(const std::vector<std::string>& hosts, RolloutObserver& observer);

 private:
  // Runs `action` with `args` on every balancer at once, reading the
  // "sessions|status SERVER VALUE" lines it prints as they come.
  std::vector<Result<CommandResult>> on_every_balancer(const std::string& action,
                                                       const std::vector<std::string>& args,
                                                       Duration timeout, RolloutObserver& observer);
  Result<void> set_weights(const std::vector<std::map<std::string, long>>& by_balancer,
                           RolloutObserver& observer);

  BalancerSpec spec_;
  std::vector<std::string> balancers_;
  std::unique_ptr<Transport> transport_;
  std::map<std::string, std::string> servers_;  // unit host -> server name
  Duration up_wait_;
  // The weights weigh_canaries replaced, per balancer: server -> weight.
  std::vector<std::map<std::string, long>> replaced_weights_;
};

}  // namespace flotilla
