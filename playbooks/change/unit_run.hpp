#pragma once

#include <optional>
#include <string>

#include "core/phase_times.hpp"
#include "playbooks/change/approvals.hpp"
#include "playbooks/change/change_context.hpp"
#include "playbooks/change/prepared_change.hpp"
#include "playbooks/lock_host/rollout_board.hpp"
#include "snapshots/snapshot.hpp"

namespace flotilla {

// What the approvals checked before the lock covered.
struct Approved {
  std::string digest;
  ApprovalStatus status;
};

// One unit's change, run: its snapshot and how it ended.
struct UnitRun {
  std::string unit;
  Snapshot snapshot;
  bool changed = false;  // some host changed and the change succeeded
  bool ok = true;
  bool interrupted = false;
  ErrorKind failure = ErrorKind::kFailed;
};

// The numbers a unit's change runs under: its snapshot's id (from the lock
// host's counter) and its release's (the release's first snapshot).
struct UnitRunIds {
  long snapshot = 0;
  long release = 0;
};

// Everything a change does under the lock once its plan is known and
// complete, for one unit of a release: publish to the registry, open and
// save the snapshot, back up first (when its kind does), roll out, close
// the snapshot here and on the hosts, report. `board`: the lock host's,
// where a paused analysis waits for a person.
Result<UnitRun> run_unit(const ChangeContext& context, PreparedChange& prepared,
                         const ChangeRequest& request, const UnitRunIds& ids,
                         const std::optional<Approved>& approved, PhaseTimes& times,
                         const std::string& prefix, RolloutBoard* board = nullptr);

}  // namespace flotilla
