#pragma once

#include <string>

#include "core/duration.hpp"
#include "playbooks/change/change_context.hpp"

namespace flotilla {

// `balancer ready UNIT`: the unit's selected hosts back into rotation on
// every balancer (ready, their initial weights, then UP), under the
// environment's lock, for the servers an interrupted or lost change left
// in maint or drain. kFailed when a host does not come back UP.
Result<Outcome> put_back_in_rotation(const ChangeContext& context, const std::string& unit,
                                     Duration lock_wait);

}  // namespace flotilla
