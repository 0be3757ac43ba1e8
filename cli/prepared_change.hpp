#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"
#include "playbooks/deploy_plan.hpp"
#include "playbooks/rollout.hpp"
#include "snapshots/ledger.hpp"

namespace flotilla {

// What the user asked to change.
struct ChangeRequest {
  std::string kind = "deploy";  // deploy, hotfix, rollback, config
  std::string unit;
  std::string ref;  // deploy, hotfix
  std::string ticket;
  std::optional<long> to;  // rollback --to
};

// Everything `plan` shows and the change commands execute: the targets,
// what may be sent, the connections, the unit's history (the local ledger
// merged with the fleet's copies) and the plan made from the live hosts.
struct PreparedChange {
  Targets targets;
  const Unit* unit = nullptr;
  RolloutSources sources;
  std::unique_ptr<FleetConnection> connection;
  std::vector<Snapshot> history;  // this unit's snapshots in this environment, oldest first
  long highest_snapshot = 0;      // in the environment, from the ledger and the fleet
  DeployPlan plan;
  std::map<std::string, RolloutHost> hosts;  // by name: transport index, variables, state
};

// The selected hosts of the unit, connected; nothing is read yet.
struct UnitFleet {
  Targets targets;
  const Unit* unit = nullptr;
  std::unique_ptr<FleetConnection> connection;
  std::vector<PlanTarget> plan_hosts;
  std::map<std::string, RolloutHost> hosts;
};
Result<UnitFleet> connect_unit(const GlobalOptions& options, const std::string& unit,
                               Reporter& reporter);

struct FleetReading {
  std::vector<Result<Survey>> surveys;  // by host, as fleet.plan_hosts
  std::vector<Snapshot> ledger;         // the environment's, merged with the hosts' copies
};
// Reads every host once (state, what it keeps, its copy of the snapshots,
// and which of `manifest`'s files it lacks) and folds those snapshots into
// the local ledger. Hosts that do not answer are warned about and left out.
Result<FleetReading> survey_and_sync(UnitFleet& fleet, const Ledger& ledger, Reporter& reporter,
                                     const Manifest* manifest = nullptr);

Result<PreparedChange> prepare_change(const GlobalOptions& options, const ChangeRequest& request,
                                      Reporter& reporter);

void print_plan(Reporter& reporter, const DeployPlan& plan, const Unit& unit);

// 0, or 4 if a host could not be reached, 1 for other survey failures.
int plan_exit_code(const DeployPlan& plan);

Ledger ledger_of(const Targets& targets);

}  // namespace flotilla
