#pragma once

#include <string>

#include "playbooks/deploy_plan.hpp"

namespace flotilla {

// The plan's identity, what an approval signs: a sha256 over the
// environment, the unit and kind, the artifact, config and secrets versions
// it brings, and its scope — every host that changes, with what it runs now
// and what it will run. Any change to those (another build, a host that
// moved meanwhile, a wider --limit) is another digest, which voids approvals.
std::string plan_digest(const DeployPlan& plan);

}  // namespace flotilla
