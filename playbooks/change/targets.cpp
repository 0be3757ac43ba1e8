#include "playbooks/change/targets.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "inventory/host_pattern.hpp"

namespace flotilla {

Result<void> narrow_to_unit(Targets& targets, const Unit& unit) {
  auto selected = unit_hosts(targets, unit);
  if (!selected) return tl::unexpected(selected.error());
  targets.hosts = std::move(*selected);
  return {};
}

Result<std::vector<std::size_t>> unit_hosts(const Targets& targets, const Unit& unit) {
  auto named = select_hosts(targets.inventory.inventory, unit.hosts);
  if (!named) return tl::unexpected(named.error());
  std::vector<std::size_t> selected;
  for (std::size_t h : *named) {
    if (std::find(targets.hosts.begin(), targets.hosts.end(), h) != targets.hosts.end()) {
      selected.push_back(h);
    }
  }
  if (selected.empty()) {
    return fail(ErrorKind::kBadInput,
                fmt::format("--limit leaves no hosts of unit '{}'", unit.name));
  }
  return selected;
}

Result<const Unit*> find_unit(const Targets& targets, const std::string& name) {
  const Unit* unit = targets.project->unit(name);
  if (unit == nullptr) {
    return fail(ErrorKind::kBadInput,
                fmt::format("unknown unit '{}' in {}", name, targets.project->path));
  }
  return unit;
}

}  // namespace flotilla
