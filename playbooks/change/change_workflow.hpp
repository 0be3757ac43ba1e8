#pragma once

#include "playbooks/change/change_context.hpp"
#include "playbooks/change/change_request.hpp"

namespace flotilla {

// The path every change command shares — deploy, hotfix, rollback, config
// push: take the environment's lock (so the plan is made under it), prepare
// and print the plan, back up, number a snapshot and save it as running,
// execute exactly that plan, record where every host ended up (locally and
// on the hosts), prune what retention allows, release the lock whatever
// happened. A missing secret stops it before any host is touched.
Result<Outcome> run_change(const ChangeContext& context, const ChangeRequest& request);

}  // namespace flotilla
