#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/reporter.hpp"
#include "core/transport.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

// A unit's logs on its hosts, read: the patrol (logs_count.sh) and its
// answer. The commands are in host_commands; the log globs come from the
// validated project file (no quotes, no `..`); the host expands them.

// The patrol: per host, the stamped lines in the last `window` that match
// `grep`, with the newest `top`; over `max` (when >= 0) is a failure.
struct PatrolQuery {
  std::string grep;
  Duration window{};
  std::size_t top = 3;
  long max = -1;
  Duration timeout{};
};

// One host's answer to the patrol (host_scripts/logs_count.sh): how many
// stamped lines in the window matched, and the newest few.
struct PatrolCount {
  std::uint64_t count = 0;
  std::vector<std::string> lines;  // newest last, at most `top`
};

// Reads logs_count.sh's output; kFailed for anything it never prints.
Result<PatrolCount> parse_patrol(const std::string& output, std::size_t top);

// Runs the patrol on every host of `transport` (named `hosts`), prints a
// row per host and returns the document: exit 1 above max, 4 when a host
// cannot be reached, 1 when one cannot be read.
Outcome patrol_logs(Transport& transport, const std::vector<std::string>& hosts, const Unit& unit,
                    const PatrolQuery& query, Reporter& reporter);

}  // namespace flotilla
