#pragma once

#include <functional>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/reporter.hpp"
#include "playbooks/change/change_request.hpp"
#include "playbooks/change/prepared_change.hpp"
#include "snapshots/snapshot.hpp"

namespace flotilla {

// The snapshot of a change about to run: who, what, under which ticket, and
// where each host is headed (outcome "running"), so a controller killed
// from here on leaves a record that says so. The id is set by the caller.
// Times are the change's clock (`now`, UTC seconds): a soak is measured on it.
Snapshot begin_snapshot(const DeployPlan& plan, const ChangeRequest& request, std::int64_t now);

// Where every host ended up, and how the change ended.
void end_snapshot(Snapshot& snapshot, const DeployPlan& plan, const RolloutResult& result,
                  std::int64_t now);

// What each changing host records itself when its activation succeeds: its
// part of `running` as it will read if the change succeeds, and what it
// keeps then (its release before this change too, for as long as a later
// batch may still send it back). Empty when finish.sh must do it after the
// last batch: the change rotates secrets (their old versions go only once
// every host has succeeded).
// Signs a record before its lines go to hosts (record_signing's sign_record).
using RecordSigner = std::function<Result<void>(Snapshot&)>;

// Signing fails only when the controller's key cannot sign: nothing changed yet.
Result<std::map<std::string, ActivationRecord>> activation_records(const PreparedChange& prepared,
                                                                   const Snapshot& running,
                                                                   const RecordSigner& sign,
                                                                   std::int64_t now);

// Whether the activations recorded the change on every host they changed
// (they succeeded everywhere), so only the unchanged hosts are left.
bool recorded_by_activations(const PreparedChange& prepared,
                             const std::map<std::string, ActivationRecord>& records,
                             const RolloutResult& result);

// Each host keeps its part of the record; after a success, retention
// prunes what `history` (this unit's, `snapshot` included) no longer needs.
// Only the hosts in `only`, when given. Failures to record are warnings:
// the local ledger has the record.
void record_on_hosts(const PreparedChange& prepared, const Snapshot& snapshot,
                     const std::vector<Snapshot>& history, Reporter& reporter,
                     const RecordSigner& sign, const std::set<std::string>* only = nullptr);

}  // namespace flotilla
