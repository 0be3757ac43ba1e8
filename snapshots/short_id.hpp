#pragma once

#include <string>

namespace flotilla {

// A release, config or commit id as people read it: its first 12
// characters, or `none` when there is no id.
inline std::string short_id(const std::string& id, const char* none = "-") {
  return id.empty() ? std::string(none) : id.substr(0, 12);
}

}  // namespace flotilla
