#pragma once

#include <vector>

#include "playbooks/change/change_context.hpp"
#include "playbooks/change/change_request.hpp"
#include "playbooks/change/unit_fleet.hpp"
#include "playbooks/deploy_plan.hpp"
#include "playbooks/rollout.hpp"

namespace flotilla {

// Everything `plan` shows and the change commands execute: the unit's
// connected hosts, what may be sent, the unit's history (the local ledger
// merged with the fleet's copies) and the plan made from the live hosts.
struct PreparedChange {
  UnitFleet fleet;
  RolloutSources sources;
  std::vector<Snapshot> history;  // this unit's snapshots in this environment, oldest first
  long highest_snapshot = 0;      // in the environment, from the ledger and the fleet
  DeployPlan plan;
  const Unit& unit() const { return *fleet.unit; }
};

// Prepare: policy (branches, hotfix rule, ticket), secrets, build (or
// reuse) and config, one survey of every host, the rollback target, and
// the plan. Changes no host.
Result<PreparedChange> prepare_change(const ChangeContext& context, const ChangeRequest& request);

// Every change of a release prepared before any of them runs: all builds
// done and every host read, so a build that fails or a host that cannot be
// read stops the release before it changes anything.
Result<std::vector<PreparedChange>> prepare_release(const ChangeContext& context,
                                                    const std::vector<ChangeRequest>& changes);

// The plans of a release, in order, for its digest.
std::vector<const DeployPlan*> plans_of(const std::vector<PreparedChange>& prepared);

}  // namespace flotilla
