#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/global_options.hpp"
#include "core/reporter.hpp"
#include "inventory/ansible_yaml_inventory.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

// What a command acts on: the project (absent with a lone `-i`), the
// environment, its inventory and the hosts selected by --limit.
struct Targets {
  std::optional<Project> project;
  const Environment* environment = nullptr;
  LoadedInventory inventory;
  std::vector<std::size_t> hosts;  // selected, inventory order
};

// The project file and the chosen environment (-e, or the only one).
// `environment` points into `project`: re-find it after moving the project.
struct ProjectEnvironment {
  Project project;
  const Environment* environment = nullptr;
};
Result<ProjectEnvironment> load_project_environment(const GlobalOptions& options);

// Loads project file and inventory as the global options say; reports the
// inventory's warnings. `need_project`: commands that need units.
Result<Targets> load_targets(const GlobalOptions& options, Reporter& reporter, bool need_project);

// Keeps only the selected hosts that the unit's `hosts:` pattern names
// (--limit narrows a unit, never widens it). kBadInput if none are left.
Result<void> narrow_to_unit(Targets& targets, const Unit& unit);

// The unit named on the command line, or kBadInput naming the project file.
Result<const Unit*> find_unit(const Targets& targets, const std::string& name);

}  // namespace flotilla
