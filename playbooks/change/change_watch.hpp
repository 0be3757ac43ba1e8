#pragma once

#include "core/phase_times.hpp"
#include "playbooks/change/change_context.hpp"
#include "playbooks/change/unit_run.hpp"
#include "playbooks/lock_host/deploy_lock.hpp"
#include "playbooks/lock_host/rollout_board.hpp"

namespace flotilla {

// Whether watch_after_change watches `run`: its unit has `watch:` and
// `analysis:`, and the run changed hosts with a change analysis judges.
bool will_watch(const ChangeContext& context, const UnitRun& run);

// A unit's `watch:` after its change's last batch, still under the lock:
// for `for`, every analysis interval, asks Prometheus the alert query. Any
// series it returns is a firing alert: the change is rolled back once (a
// rollback recorded with cause "watch:ALERTNAME" and the alert as its
// analysis), and the watch ends. A person's `rollback` of the unit from
// any controller ends it through the lock host's board; Ctrl-C ends it and
// leaves the change. Prometheus not answering is said, never a rollback.
// kFailed when the change was rolled back (or could not be).
Outcome watch_after_change(const ChangeContext& context, DeployLock& lock, RolloutBoard& board,
                           const UnitRun& run, long release_id, long& highest, PhaseTimes& times);

}  // namespace flotilla
