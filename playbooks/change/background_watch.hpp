#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "playbooks/change/change_context.hpp"
#include "playbooks/lock_host/deploy_lock.hpp"

namespace flotilla {

// `--no-wait`: once a change's last batch is done, what is left of it under
// the lock (its units' watches, then load tests) goes on in a background
// process, and the command returns.
//
// The process is this one, forked: it keeps the SSH sessions and the
// lock's token, so nothing is reconnected or re-read. It takes the lock
// over on the lock host (its own pid in the holder record, so `lock status`
// shows a live holder), writes everything it would have printed to
// `log_path`, and is ended like any change: by a `rollback` of a watched
// unit from any controller, or by SIGTERM (the change stays).
//
// Returns in the background process, its output now in the log. The
// command's own process never returns once the fork succeeded: it says
// where the watch went on (pid, log) and exits 0, or 1 if the background
// process died before taking over. It must not touch an SSH session after
// the fork (only one process may speak on one), so it _exits. An error:
// nothing was forked, and the caller watches here as without --no-wait.
Result<void> go_on_in_background(const ChangeContext& context, DeployLock& lock,
                                 const LockHolder& holder, const std::vector<std::string>& units,
                                 const std::string& log_path);

}  // namespace flotilla
