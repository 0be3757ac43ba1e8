#pragma once

#include <vector>

#include "core/reporter.hpp"
#include "core/transport.hpp"

namespace flotilla {

// Streams remote output as whole lines, each prefixed with its host
// ("h01 | ..."); partial last lines are printed by flush().
class HostLineStream {
 public:
  HostLineStream(Reporter& reporter, const std::vector<HostAddress>& hosts);
  Transport::OutputFn callback();
  void flush();

 private:
  Reporter& reporter_;
  const std::vector<HostAddress>& hosts_;
  std::vector<std::string> partial_;  // per host and stream
};

// Prints one result per host (text: grouped output with a status header, or
// just a status line when the output was already streamed; JSON: one
// document) and returns the exit code: 0 all succeeded, 4 any unreachable,
// 1 otherwise.
Outcome report_host_results(Reporter& reporter, const std::vector<HostAddress>& hosts,
                            const std::vector<Result<CommandResult>>& results,
                            bool output_streamed);

}  // namespace flotilla
