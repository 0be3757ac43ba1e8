#include "playbooks/lock_host/lock_host.hpp"

#include <algorithm>

#include "inventory/host_pattern.hpp"

namespace flotilla {

Result<std::size_t> lock_host_of(const Targets& targets) {
  const Environment& env = *targets.environment;
  const Inventory& inventory = targets.inventory.inventory;
  if (inventory.hosts().empty())
    return fail(ErrorKind::kBadInput, "the inventory has no hosts to hold a lock");
  if (!env.lock_host) return std::size_t{0};
  auto chosen = select_hosts(inventory, *env.lock_host);
  if (!chosen) return tl::unexpected(chosen.error());
  return chosen->front();
}

Result<EnvironmentLock> open_environment_lock(const Targets& targets, const ConnectFn& connect,
                                              Clock& clock) {
  auto host = lock_host_of(targets);
  if (!host) return tl::unexpected(host.error());
  auto transport = connect(targets, {*host});
  if (!transport) return tl::unexpected(transport.error());
  Transport& reach = **transport;
  return EnvironmentLock{std::move(*transport),
                         DeployLock(reach, 0, targets.environment->name, clock)};
}

Result<long> read_snapshot_counter(const Targets& targets, const ConnectFn& connect,
                                   Transport& fleet, const std::vector<std::size_t>& fleet_hosts) {
  auto host = lock_host_of(targets);
  if (!host) return tl::unexpected(host.error());
  auto at = std::find(fleet_hosts.begin(), fleet_hosts.end(), *host);
  if (at != fleet_hosts.end()) {
    DeployLock lock(fleet, static_cast<std::size_t>(at - fleet_hosts.begin()),
                    targets.environment->name);
    return lock.snapshot_counter();
  }
  auto lock = open_environment_lock(targets, connect);
  if (!lock) return tl::unexpected(lock.error());
  return lock->lock.snapshot_counter();
}

}  // namespace flotilla
