#pragma once

#include "cli/global_options.hpp"
#include "core/reporter.hpp"

namespace flotilla {

// `inventory list --resolved`: the connection each selected host gets after
// inventory variables and ssh_config, as `ssh -G` would print it; nothing
// is contacted. JSON: per host "ssh": {hostname, port, user,
// identity_files, proxy_jump}.
Result<Outcome> list_resolved_hosts(const GlobalOptions& options, Reporter& reporter);

}  // namespace flotilla
