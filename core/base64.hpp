#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace flotilla {

// Standard base64 (RFC 4648, padded, one line).
std::string base64_encode(std::string_view data);

// Standard base64 (RFC 4648, padded), as coreutils' `base64` writes it.
// nullopt when `text` is not base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace flotilla
