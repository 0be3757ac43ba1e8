#pragma once

#include <vector>

#include "core/reporter.hpp"
#include "playbooks/change/change_request.hpp"
#include "playbooks/change/prepared_change.hpp"
#include "snapshots/snapshot.hpp"

namespace flotilla {

// The snapshot of a change about to run: who, what, under which ticket, and
// where each host is headed (outcome "running"), so a controller killed
// from here on leaves a record that says so. The id is set by the caller.
Snapshot begin_snapshot(const DeployPlan& plan, const ChangeRequest& request);

// Where every host ended up, and how the change ended.
void end_snapshot(Snapshot& snapshot, const DeployPlan& plan, const RolloutResult& result);

// Each host keeps its part of the record; after a success, retention
// prunes what `history` (this unit's, `snapshot` included) no longer needs.
// Failures to record are warnings: the local ledger has the record.
void record_on_hosts(const PreparedChange& prepared, const Snapshot& snapshot,
                     const std::vector<Snapshot>& history, Reporter& reporter);

}  // namespace flotilla
