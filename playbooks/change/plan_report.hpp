#pragma once

#include "core/reporter.hpp"
#include "playbooks/deploy_plan.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

// The plan as a table: host, current -> target, action; batches; checks.
void print_plan(Reporter& reporter, const DeployPlan& plan, const Unit& unit);

// Fine, or kUnreachable if a host could not be reached, kFailed for other
// survey failures.
Outcome plan_outcome(const DeployPlan& plan);

}  // namespace flotilla
