#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/yaml_document.hpp"
#include "inventory/inventory.hpp"

namespace flotilla {

struct LoadedInventory {
  Inventory inventory;
  std::string path;
  std::vector<std::string> warnings;  // what Ansible would warn about, FILE:LINE:COL
  // Values read from vars files encrypted whole with ansible-vault: printed
  // nowhere (a command redacts them from everything it prints).
  std::vector<std::string> secret_values;
};

// Reads an inventory in Ansible's YAML format exactly as ansible-core's `yaml`
// inventory plugin does (same structure rules, warnings for what it skips,
// YAML 1.1 values), plus flotilla's safety checks on host names and
// connection variables. Errors: kBadInput, "FILE:LINE:COL: message".
Result<LoadedInventory> load_ansible_yaml_inventory(const std::string& path);
Result<LoadedInventory> parse_ansible_yaml_inventory(const YamlDocument& document);
// Adds one YAML source's groups and hosts to `into` (several sources make
// one inventory, as Ansible reads a directory); the caller finalizes.
Result<void> parse_ansible_yaml_inventory_into(const YamlDocument& document, LoadedInventory& into);

}  // namespace flotilla
