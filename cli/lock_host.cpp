#include "cli/lock_host.hpp"

#include <fmt/format.h>

#include "cli/targets.hpp"
#include "inventory/host_pattern.hpp"

namespace flotilla {

Result<OpenLock> open_deploy_lock(const GlobalOptions& options, Reporter& reporter) {
  GlobalOptions whole_environment = options;
  whole_environment.limit.clear();  // the lock is the environment's, whatever --limit says
  auto targets = load_targets(whole_environment, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  const Environment& env = *targets->environment;
  const Inventory& inventory = targets->inventory.inventory;
  if (inventory.hosts().empty())
    return fail(ErrorKind::kBadInput, "the inventory has no hosts to hold a lock");
  std::size_t host = 0;
  if (env.lock_host) {
    auto chosen = select_hosts(inventory, *env.lock_host);
    if (!chosen) return tl::unexpected(chosen.error());
    host = chosen->front();
  }
  targets->hosts = {host};
  auto connection = FleetConnection::open(options, *targets, reporter);
  if (!connection) return tl::unexpected(connection.error());
  Transport& transport = (*connection)->transport();
  return OpenLock{env.name, std::move(*connection), DeployLock(transport, 0, env.name)};
}

}  // namespace flotilla
