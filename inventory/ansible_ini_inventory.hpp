#pragma once

#include <string>

#include "core/error.hpp"
#include "inventory/ansible_yaml_inventory.hpp"

namespace flotilla {

// Reads an inventory in Ansible's INI format as ansible-core 2.14's `ini`
// plugin does: `[group]` host lines (`name key=value ...`, shell-like
// quoting, host ranges, `name:port`), `[group:vars]` (`key = value`),
// `[group:children]` (groups declared before or after), hosts before any
// section in `ungrouped`; values read as Python literals where they are
// one (`2222` is a number, `yes` a string, `True` a boolean). Plus
// flotilla's checks on host names and connection variables. Errors:
// kBadInput, "FILE:LINE:COL: message".
Result<LoadedInventory> parse_ansible_ini_inventory(const std::string& text,
                                                    const std::string& path);
// Adds one INI source to `into`; the caller finalizes.
Result<void> parse_ansible_ini_inventory_into(const std::string& text, const std::string& path,
                                              LoadedInventory& into);

}  // namespace flotilla
