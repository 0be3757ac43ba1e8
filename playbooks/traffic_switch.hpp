#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "playbooks/rollout_observer.hpp"

namespace flotilla {

// The L7 switch in front of a unit's hosts, as a rollout uses it: a host
// leaves rotation before it stops and rejoins once it serves. A rollout
// without a balancer has none (RolloutIo::traffic is null).
class TrafficSwitch {
 public:
  // Host -> why it could not be done (a host absent was done).
  using Failures = std::map<std::string, std::string>;

  virtual ~TrafficSwitch() = default;
  // On every balancer: drain, wait for its sessions to end (or the drain
  // time), maint. A host that fails on one balancer is put back on all:
  // it has not been stopped.
  virtual Failures take_out(const std::vector<std::string>& hosts, RolloutObserver& observer) = 0;
  // On every balancer: ready, then wait until each reports it UP.
  virtual Failures put_back(const std::vector<std::string>& hosts, RolloutObserver& observer) = 0;
  // Gives `canaries` `percent` of their backend's traffic on every
  // balancer, until restore_weights.
  virtual Result<void> weigh_canaries(const std::vector<std::string>& canaries, double percent,
                                      RolloutObserver& observer) = 0;
  // Every weight weigh_canaries changed goes back to what it was.
  virtual Result<void> restore_weights(RolloutObserver& observer) = 0;
};

}  // namespace flotilla
