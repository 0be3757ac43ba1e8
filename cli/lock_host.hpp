#pragma once

#include <string>

#include "cli/global_options.hpp"
#include "core/reporter.hpp"
#include "playbooks/change/environment_lock.hpp"

namespace flotilla {

// The environment's deploy lock, reached as the global options say
// (whatever --limit says: the lock is the environment's).
struct OpenLock {
  std::string environment;
  EnvironmentLock held;
};

Result<OpenLock> open_deploy_lock(const GlobalOptions& options, Reporter& reporter);

}  // namespace flotilla
