#pragma once

#include <string>

#include "core/error.hpp"
#include "inventory/ansible_yaml_inventory.hpp"

namespace flotilla {

// An inventory source as `-i` and an environment's `inventory:` name it,
// read as ansible-core picks its plugin: `.yml`, `.yaml` and `.json` files
// are YAML inventories; any other file is INI (and, where it is not INI
// but a YAML mapping, YAML, as flotilla always read it).
Result<LoadedInventory> load_inventory(const std::string& path);

}  // namespace flotilla
