#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace flotilla {

struct HostAndPort {
  std::string host;  // may still hold ranges like gs[01:50].kr
  std::optional<int> port;
};

// Splits "name:2222" (and "[v6]:2222") the way Ansible's parse_address does;
// anything else is returned whole with no port.
HostAndPort split_host_port(const std::string& pattern);

// Expands Ansible host ranges: gs[01:50].kr, db-[a:c], st[0:10:5], several per
// name. Error text names the problem (equal-width bounds, begin <= end...).
tl::expected<std::vector<std::string>, std::string> expand_host_range(const std::string& pattern);

}  // namespace flotilla
