#pragma once

#include <string>
#include <string_view>

namespace flotilla {

// `s` without leading and trailing whitespace, as Python's str.strip() (what
// Ansible applies to inventory lines and host patterns).
inline std::string trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  std::size_t a = s.find_first_not_of(kSpace);
  if (a == std::string_view::npos) return "";
  return std::string(s.substr(a, s.find_last_not_of(kSpace) - a + 1));
}

}  // namespace flotilla
