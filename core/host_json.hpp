#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace flotilla {

// JSON a host wrote (its state file, its history, a lock holder): nothing a
// host holds is trusted, so the document is bounded — at most
// `max_depth` levels of nesting and `max_bytes` of text — and an invalid or
// oversized one is an error naming `what`, never a crash. (A deep document
// would overflow the stack when copied or destroyed.)
Result<nlohmann::json> parse_host_json(std::string_view text, const std::string& what,
                                       int max_depth = 32, std::size_t max_bytes = 1 << 20);

}  // namespace flotilla
