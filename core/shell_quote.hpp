#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace flotilla {

// The one way a value enters a remote command line: POSIX single quotes, so
// `$()`, backticks, newlines, globs and leading dashes arrive as one literal
// argument. Never paste unquoted strings into a command.
std::string shell_quote(std::string_view value);

// Quotes each argument and joins them with spaces.
std::string shell_join(const std::vector<std::string>& argv);

}  // namespace flotilla
