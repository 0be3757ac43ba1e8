#include "cli/lock_host.hpp"

#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"

namespace flotilla {

Result<OpenLock> open_deploy_lock(const GlobalOptions& options, Reporter& reporter) {
  GlobalOptions whole_environment = options;
  whole_environment.limit.clear();  // the lock is the environment's, whatever --limit says
  auto targets = load_targets(whole_environment, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  auto lock = open_environment_lock(*targets, fleet_connector(whole_environment, reporter));
  if (!lock) return tl::unexpected(lock.error());
  return OpenLock{targets->environment->name, std::move(*lock)};
}

}  // namespace flotilla
