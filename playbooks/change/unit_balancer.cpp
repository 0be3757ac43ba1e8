#include "playbooks/change/unit_balancer.hpp"

#include <fmt/format.h>

#include "inventory/host_pattern.hpp"

namespace flotilla {

Result<std::unique_ptr<HaproxySwitch>> connect_balancer(const ChangeContext& context,
                                                        const UnitFleet& fleet) {
  if (!fleet.unit->balancer) return nullptr;
  const BalancerSpec& spec = *fleet.unit->balancer;
  const Inventory& inventory = context.targets.inventory.inventory;
  auto selected = match_hosts(inventory, spec.hosts);
  if (!selected) {
    return fail(ErrorKind::kBadInput, fmt::format("units.{}.balancer.hosts: {}", fleet.unit->name,
                                                  selected.error().message));
  }
  if (selected->empty()) return nullptr;
  std::map<std::string, std::map<std::string, std::string>> vars;
  for (const auto& [name, host] : fleet.by_name) vars[name] = host.vars;
  auto servers = balancer_servers(spec, vars);
  if (!servers) {
    return fail(ErrorKind::kBadInput,
                fmt::format("units.{}.{}", fleet.unit->name, servers.error().message));
  }
  std::vector<std::string> names;
  for (std::size_t h : *selected) names.push_back(inventory.hosts()[h].name);
  auto transport = context.connect(context.targets, *selected);
  if (!transport) return tl::unexpected(transport.error());
  return std::make_unique<HaproxySwitch>(spec, std::move(names), std::move(*transport),
                                         std::move(*servers));
}

}  // namespace flotilla
