#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "inventory/inventory.hpp"

namespace flotilla {

// Selects hosts with Ansible's pattern language: names, groups, `all`/`*`,
// globs, `~regex`, subscripts (`web[0]`, `web[1:3]`), `a:b` or `a,b` union,
// `a:&b` intersection, `a:!b` exclusion. Terms are applied as Ansible does:
// unions first, then intersections, then exclusions. Hosts come back in
// inventory order within each union term. A pattern that selects nothing is
// an error (kBadInput): deploying to nobody is never what was meant.
Result<std::vector<std::size_t>> select_hosts(const Inventory& inventory,
                                              const std::string& pattern);

// The same, where selecting nothing is an answer (an environment without
// balancer hosts), not an error.
Result<std::vector<std::size_t>> match_hosts(const Inventory& inventory,
                                             const std::string& pattern);

// Ansible's split_host_pattern: on ',' if present, else on ':' outside brackets.
std::vector<std::string> split_host_pattern(const std::string& pattern);

}  // namespace flotilla
