#pragma once

#include <string>
#include <string_view>

namespace flotilla {

// `text` with every invalid UTF-8 sequence replaced by U+FFFD: what a host
// printed may be any bytes, and JSON (and terminals) need UTF-8.
std::string valid_utf8(std::string_view text);

// `text` made safe to print on a terminal: valid UTF-8, and every control
// character shown as a visible escape (`\x1b`, `\u009b`) except newline,
// tab and flotilla's own colors (`ESC [ digits m`). A host can send bytes
// that retitle a window, move the cursor or hide lines; printed through
// here, it cannot.
std::string terminal_safe(std::string_view text);

}  // namespace flotilla
