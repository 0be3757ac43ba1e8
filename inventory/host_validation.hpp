#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace flotilla {

// Names and connection variables end up in SSH connections, logs and remote
// paths, so flotilla refuses values no real host has: a leading '-' (option
// injection), whitespace, shell metacharacters, control characters.
// Each returns the reason a value is refused, or nullopt.
std::optional<std::string> check_host_name(const std::string& name);
std::optional<std::string> check_group_name(const std::string& name);
// ansible_host, ansible_user, ansible_port, ansible_ssh_private_key_file.
std::optional<std::string> check_connection_variable(const std::string& key,
                                                     const nlohmann::json& value);

}  // namespace flotilla
