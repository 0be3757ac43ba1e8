#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "inventory/ansible_yaml_inventory.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

// What a command acts on: the project (absent with a lone `-i`), the
// environment, its inventory and the hosts selected by --limit.
// `environment` points into `project`: re-point it after moving the project.
struct Targets {
  std::optional<Project> project;
  const Environment* environment = nullptr;
  LoadedInventory inventory;
  std::vector<std::size_t> hosts;  // selected, inventory order
};

// The selected hosts that the unit's `hosts:` pattern names. kBadInput if
// none are left.
Result<std::vector<std::size_t>> unit_hosts(const Targets& targets, const Unit& unit);

// Keeps only the selected hosts that the unit's `hosts:` pattern names
// (--limit narrows a unit, never widens it). kBadInput if none are left.
Result<void> narrow_to_unit(Targets& targets, const Unit& unit);

// The unit named on the command line, or kBadInput naming the project file.
Result<const Unit*> find_unit(const Targets& targets, const std::string& name);

}  // namespace flotilla
