#pragma once

#include <memory>

#include "playbooks/change/change_context.hpp"
#include "playbooks/change/unit_fleet.hpp"
#include "playbooks/haproxy_switch.hpp"

namespace flotilla {

// The unit's balancer (`balancer:`), connected: its hosts come from the
// environment's whole inventory (--limit narrows the unit, never the
// balancers), each unit host's server name from `server:`. Null when the
// unit has no balancer, or its pattern names no host of this environment
// (an int without an L7 switch: the caller says so). kBadInput when the
// pattern is malformed or a server name is unusable.
Result<std::unique_ptr<HaproxySwitch>> connect_balancer(const ChangeContext& context,
                                                        const UnitFleet& fleet);

}  // namespace flotilla
