#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace flotilla {

// One host's answer to the patrol (host_scripts/logs_count.sh): how many
// stamped lines in the window matched, and the newest few.
struct PatrolCount {
  std::uint64_t count = 0;
  std::vector<std::string> lines;  // newest last, at most `top`
};

// Reads logs_count.sh's output; kFailed for anything it never prints.
Result<PatrolCount> parse_patrol(const std::string& output, std::size_t top);

}  // namespace flotilla
