#pragma once

#include <memory>

#include "playbooks/change/change_context.hpp"
#include "playbooks/deploy_lock.hpp"

namespace flotilla {

// A connection to the environment's lock host (`lock_host` pattern, else the
// first host of its inventory, whatever --limit says) and the lock on it.
struct EnvironmentLock {
  std::unique_ptr<Transport> transport;
  DeployLock lock;
};

Result<EnvironmentLock> open_environment_lock(const Targets& targets, const ConnectFn& connect);

}  // namespace flotilla
