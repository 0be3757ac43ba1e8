#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/artifact.hpp"
#include "playbooks/change/change_context.hpp"
#include "playbooks/deploy_plan.hpp"
#include "playbooks/rollout.hpp"
#include "snapshots/host_state.hpp"
#include "snapshots/ledger.hpp"

namespace flotilla {

// The selected hosts of one unit, connected; nothing is read yet.
struct UnitFleet {
  const Targets* targets = nullptr;
  const Unit* unit = nullptr;
  std::vector<std::size_t> hosts;  // inventory indexes; transport host i is hosts[i]
  std::unique_ptr<Transport> transport;
  std::vector<PlanTarget> plan_hosts;          // by transport index
  std::map<std::string, RolloutHost> by_name;  // transport index, variables, state
};
Result<UnitFleet> connect_unit(const ChangeContext& context, const std::string& unit);

struct FleetReading {
  std::vector<Result<Survey>> surveys;  // by host, as fleet.plan_hosts
  std::vector<Snapshot> ledger;         // the environment's, merged with the hosts' copies
};
// Reads every host once (state, what it keeps, its copy of the snapshots,
// and which of `manifest`'s files it lacks) and folds those snapshots into
// the local ledger: each host's copy speaks only for that host, and no id
// above the lock host's counter is taken. Hosts that do not answer are
// warned about and left out.
Result<FleetReading> survey_and_sync(const ChangeContext& context, UnitFleet& fleet,
                                     const Ledger& ledger, const Manifest* manifest = nullptr,
                                     const std::map<std::size_t, HealthProbe>& probes = {});

// The environment's local ledger.
Ledger ledger_of(const Targets& targets);

// Folds every host's copy of the history (of `unit`, or of every unit with
// hosts here when empty) into this controller's ledger.
Result<void> sync_ledger(const ChangeContext& context, const std::string& unit = "");

}  // namespace flotilla
