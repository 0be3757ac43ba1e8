#pragma once

#include <string>
#include <vector>

#include "playbooks/change/change_context.hpp"
#include "playbooks/change/release.hpp"
#include "playbooks/change/unit_run.hpp"
#include "playbooks/lock_host/deploy_lock.hpp"

namespace flotilla {

// `back.unit` goes back where it stood before snapshot `before` (its
// newest succeeded snapshot below it), as a rollback of its own (with
// `back`'s ticket and cause), prepared from the hosts as they are now,
// numbered above `highest`. False when it could not (said on `reporter`).
bool send_unit_back(const ChangeContext& context, DeployLock& lock, ChangeRequest back, long before,
                    long release_id, long& highest, PhaseTimes& times, const std::string& prefix);

// The units a failed release already changed go back where they stood
// before it, the last changed first. Each is a rollback of its own,
// prepared from the hosts as they are now, numbered above `highest`.
Outcome undo_release(const ChangeContext& context, DeployLock& lock, const Release& release,
                     const std::vector<UnitRun>& runs, long release_id, long& highest,
                     PhaseTimes& times);

}  // namespace flotilla
