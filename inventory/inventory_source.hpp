#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "inventory/ansible_vault.hpp"
#include "inventory/ansible_yaml_inventory.hpp"

namespace flotilla {

// An inventory source as `-i` and an environment's `inventory:` name it,
// read as ansible-core picks its plugin: `.yml`, `.yaml` and `.json` files
// are YAML inventories; any other file is INI (and, where it is not INI
// but a YAML mapping, YAML, as flotilla always read it). `vault_secrets`
// open files encrypted whole with ansible-vault now, and `!vault` values
// when a command needs one.
Result<LoadedInventory> load_inventory(const std::string& path,
                                       std::vector<VaultSecret> vault_secrets = {});

}  // namespace flotilla
