#pragma once

#include <memory>
#include <string>

#include "cli/fleet_connection.hpp"
#include "cli/global_options.hpp"
#include "core/reporter.hpp"
#include "playbooks/deploy_lock.hpp"

namespace flotilla {

// A connection to the environment's lock host (`lock_host` pattern, else the
// first host of its inventory) and the lock on it.
struct OpenLock {
  std::string environment;
  std::unique_ptr<FleetConnection> connection;
  DeployLock lock;
};

Result<OpenLock> open_deploy_lock(const GlobalOptions& options, Reporter& reporter);

}  // namespace flotilla
