#pragma once

#include <memory>

#include "playbooks/change/change_context.hpp"
#include "playbooks/change/unit_fleet.hpp"
#include "playbooks/haproxy_switch.hpp"

namespace flotilla {

// The unit's balancer (`balancer:`), connected: its hosts come from the
// environment's whole inventory (--limit narrows the unit, never the
// balancers), each unit host's server name from `server:`. kBadInput when
// the pattern names no host or a server name is unusable.
Result<std::unique_ptr<HaproxySwitch>> connect_balancer(const ChangeContext& context,
                                                        const UnitFleet& fleet);

}  // namespace flotilla
