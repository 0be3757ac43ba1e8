#pragma once

#include <vector>

#include "core/reporter.hpp"
#include "core/transport.hpp"

namespace flotilla {

// Prints one result per host (text: grouped output with a status header, or
// just a status line when the output was already streamed; JSON: one
// document) and returns the exit code: 0 all succeeded, 4 any unreachable,
// 1 otherwise.
int report_host_results(Reporter& reporter, const std::vector<HostAddress>& hosts,
                        const std::vector<Result<CommandResult>>& results, bool output_streamed);

}  // namespace flotilla
