#pragma once

#include <string>
#include <vector>

#include "playbooks/deploy_plan.hpp"

namespace flotilla {

// The plan's identity, what an approval signs: a sha256 over the
// environment, the unit and kind, the artifact, config and secrets versions
// it brings, and its scope — every host that changes, with what it runs now
// and what it will run. Any change to those (another build, a host that
// moved meanwhile, a wider --limit) is another digest, which voids approvals.
std::string plan_digest(const DeployPlan& plan);

// A release's identity: its one plan's digest, or for several units a
// sha256 over each unit's digest in release order (another order is
// another release).
std::string release_digest(const std::vector<const DeployPlan*>& plans);

}  // namespace flotilla
