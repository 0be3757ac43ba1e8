#pragma once

#include <map>
#include <memory>
#include <string>

#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"
#include "core/artifact.hpp"
#include "playbooks/artifact_build.hpp"
#include "playbooks/deploy_plan.hpp"
#include "playbooks/rollout.hpp"

namespace flotilla {

// Everything `plan` shows and `deploy` executes: the targets, the built (or
// reused) artifact, the connections, and the plan made from the live hosts.
struct PreparedDeploy {
  Targets targets;
  const Unit* unit = nullptr;
  BuildOutcome built;
  Manifest manifest;
  std::unique_ptr<FleetConnection> connection;
  DeployPlan plan;
  std::map<std::string, RolloutHost> hosts;  // by name: transport index, variables, state
};

Result<PreparedDeploy> prepare_deploy(const GlobalOptions& options, const std::string& unit,
                                      const std::string& ref, const std::string& ticket,
                                      Reporter& reporter);

void print_plan(Reporter& reporter, const DeployPlan& plan, const Unit& unit);

// 0, or 4 if a host could not be reached, 1 for other survey failures.
int plan_exit_code(const DeployPlan& plan);

}  // namespace flotilla
