#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace flotilla {

// What Python's ast.literal_eval makes of an INI inventory value, as
// Ansible's ini plugin reads `key=value` (numbers, 'strings', True, False,
// None, [lists], (tuples, as lists), {dicts}, with comments and spaces
// around); nullopt where literal_eval fails, and the text stays a string.
std::optional<nlohmann::json> python_literal(std::string_view text);

}  // namespace flotilla
