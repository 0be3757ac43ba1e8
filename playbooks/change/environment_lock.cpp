#include "playbooks/change/environment_lock.hpp"

#include "inventory/host_pattern.hpp"

namespace flotilla {

Result<EnvironmentLock> open_environment_lock(const Targets& targets, const ConnectFn& connect) {
  const Environment& env = *targets.environment;
  const Inventory& inventory = targets.inventory.inventory;
  if (inventory.hosts().empty())
    return fail(ErrorKind::kBadInput, "the inventory has no hosts to hold a lock");
  std::size_t host = 0;
  if (env.lock_host) {
    auto chosen = select_hosts(inventory, *env.lock_host);
    if (!chosen) return tl::unexpected(chosen.error());
    host = chosen->front();
  }
  auto transport = connect(targets, {host});
  if (!transport) return tl::unexpected(transport.error());
  Transport& reach = **transport;
  return EnvironmentLock{std::move(*transport), DeployLock(reach, 0, env.name)};
}

}  // namespace flotilla
