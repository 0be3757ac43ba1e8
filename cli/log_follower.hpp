#pragma once

#include <vector>

#include "cli/global_options.hpp"
#include "cli/targets.hpp"
#include "core/reporter.hpp"
#include "core/transport.hpp"

namespace flotilla {

// `logs UNIT --follow`: `command` (logs_follow.sh) on every host at once,
// each over its own connection, merged into one stream as lines arrive:
// "host | line", or JSON {"event": "line", "host", "file", "text"} (and
// {"event": "following", "host"} once each host follows). A host
// that drops is reported (`host_lost`), retried with backoff (1 s doubling
// to 10 s) and reported again when it follows once more (`host_back`); the
// others never wait for it. Runs until Ctrl-C, which ends it with exit 0.
Result<Outcome> follow_logs(const GlobalOptions& options, const Targets& targets,
                            const RemoteCommand& command, Reporter& reporter);

}  // namespace flotilla
