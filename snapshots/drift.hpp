#pragma once

#include <string>
#include <vector>

#include "snapshots/fleet_history.hpp"
#include "snapshots/host_state.hpp"

namespace flotilla {

// How a host differs from what it should run: links that disagree with its
// own state file (`current` or `shared/config` switched by hand, secrets
// elsewhere), and a release or config other than what the newest snapshot
// left there (`expected`, null when no snapshot names the host), and what
// its processes show (`supervised`: the unit has `run:`): orphans of the
// unit, or a process running another release than `current`. One
// human-readable line each; none when the host is where it should be.
std::vector<std::string> drift_of(const HostState& state, const HostPosition* expected,
                                  bool supervised);

}  // namespace flotilla
