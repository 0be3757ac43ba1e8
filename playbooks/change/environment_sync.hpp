#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "playbooks/change/change_context.hpp"
#include "playbooks/change/release.hpp"

namespace flotilla {

// `sync` (environment key `follows: {env, when}`): this environment is
// brought to what the followed one's newest qualifying change left on its
// hosts, every unit it runs, as one release of the same bytes (no build).

struct SyncUnit {
  std::string unit;
  StoredTarget target;  // .environment: the followed one; .snapshot: its qualifying change
  std::string ticket;   // that change's: a sync carries it unless --ticket is given
};

struct SyncPlan {
  std::string source;
  std::string when;                  // "succeeded" or "verified"
  std::vector<SyncUnit> units;       // in release order
  std::vector<std::string> skipped;  // "gm: int never verified it"
};

// Reads the followed environment's hosts (live, one survey per unit) and
// its ledger with their copies folded in. kBadInput when the environment
// follows none, when nothing there qualifies, or when a host runs other
// than what its newest qualifying change left (a change half-applied, a
// hand edit): the hosts are named and nothing is changed.
Result<SyncPlan> plan_sync(const ChangeContext& context);

// The release that brings this environment there: a deploy of each stored
// target, `promoted_from` the followed environment, cause "sync:ENV".
Release sync_release(const Project& project, const SyncPlan& plan, const ChangeRequest& base);

// Whether a snapshot's analysis judged every step and every step passed.
bool verified_by_analysis(const Snapshot& snapshot);

}  // namespace flotilla
