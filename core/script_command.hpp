#pragma once

#include <string>
#include <vector>

#include "core/transport.hpp"
#include "host_scripts/embedded.hpp"

namespace flotilla {

// A host script as a command: `sh -c SCRIPT flotilla ARG...`. The script's
// text is a constant; every dynamic value is a positional argument, quoted
// once here, so no value is ever pasted into script text.
RemoteCommand script_command(HostScript script, const std::vector<std::string>& args,
                             std::string stdin_data, Duration timeout);

// Whether a finished command exited with one of the scripts' exit codes.
bool exited_with(const CommandResult& result, HostExit code);

}  // namespace flotilla
