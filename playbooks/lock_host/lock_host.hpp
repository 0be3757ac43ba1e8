#pragma once

#include <memory>

#include "playbooks/change/change_context.hpp"
#include "playbooks/lock_host/deploy_lock.hpp"

namespace flotilla {

// The lock host: the one host of an environment that keeps what every
// controller must agree on: the deploy lock, the snapshot counter
// (deploy_lock), and the signed approvals (approval_store). Anything else
// kept there belongs in this folder too.

// A connection to the environment's lock host (`lock_host` pattern, else the
// first host of its inventory, whatever --limit says) and the lock on it.
struct EnvironmentLock {
  std::unique_ptr<Transport> transport;
  DeployLock lock;
};

Result<EnvironmentLock> open_environment_lock(const Targets& targets, const ConnectFn& connect,
                                              Clock& clock = system_clock());

// The inventory index of the environment's lock host.
Result<std::size_t> lock_host_of(const Targets& targets);

// The lock host's snapshot counter, read through `fleet` when the lock host
// is host `index` of it (no extra connection), else through its own.
Result<long> read_snapshot_counter(const Targets& targets, const ConnectFn& connect,
                                   Transport& fleet, const std::vector<std::size_t>& fleet_hosts);

}  // namespace flotilla
