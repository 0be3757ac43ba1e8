#pragma once

#include "playbooks/change/change_context.hpp"
#include "playbooks/change/change_request.hpp"
#include "playbooks/change/release.hpp"

namespace flotilla {

// The path every change command shares — deploy (one unit or a release of
// several), promote, rehearse, hotfix, rollback, config push:
//   before the lock: secrets, registry access, freeze windows, and (when the
//   environment asks) approvals and a rehearsal of exactly this change;
//   under the lock: prepare every unit (builds, one read of every host), so
//   nothing changes unless all of it can; then per unit in order: back up,
//   number a snapshot and save it as running, execute exactly its plan,
//   record where every host ended up (locally and on the hosts), prune what
//   retention allows. A unit that fails sends the units this release
//   already changed back, newest first (unless `release_failure: stop`).
// The lock is released whatever happened.
Result<Outcome> run_release(const ChangeContext& context, const Release& release);

// A release of one change.
Result<Outcome> run_change(const ChangeContext& context, const ChangeRequest& request);

}  // namespace flotilla
