#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "playbooks/change/change_request.hpp"
#include "playbooks/project.hpp"
#include "snapshots/snapshot.hpp"

namespace flotilla {

// Several unit changes run as one: one lock, one release id (the id of its
// first snapshot), in order. A unit that fails sends the units already
// changed back where they were, in reverse order, unless the project says
// `release_failure: stop`.
struct Release {
  std::vector<ChangeRequest> changes;
  bool rollback_on_failure = true;
  std::string description;  // the lock's message
};

// What the command line asked for, before it is a list of unit changes.
struct ReleaseSpec {
  ChangeKind kind = ChangeKind::kDeploy;
  std::vector<std::string> units;
  bool all = false;             // --all: release_order, else file order
  std::string ref;              // --ref
  std::string from;             // promote/rehearse --from ENV: its artifacts, no build
  std::string like;             // rehearse --like ENV
  std::optional<long> release;  // rollback --release ID
  std::optional<long> to;       // rollback --to, restore --snapshot
  ChangeRequest base;           // ticket, lock wait, override reason
};

// Where `environment`'s newest succeeded snapshot of `unit` left its hosts
// (this controller's ledger): one artifact and config version. nullopt if
// it never succeeded with the unit; kBadInput if its hosts run different
// ones (a hotfix on some of them), which cannot be promoted as one.
Result<std::optional<StoredTarget>> running_in(const Project& project,
                                               const std::string& environment,
                                               const std::string& unit);

// What a command line asks that no release can be, before anything is
// read: rollback names one unit, or --release ID alone.
Result<void> check_release_spec(const ReleaseSpec& spec);

// The unit changes of a command, in the order they run, for environment
// `target`. Unknown units, a source environment that never ran a unit, a
// release id the ledger does not know: kBadInput, before anything is read
// from a host.
Result<Release> make_release(const Project& project, const Environment& target,
                             const ReleaseSpec& spec);

// Units of a rollback --release: each of the release's changes, newest
// first, back to the unit's newest succeeded snapshot before it.
Result<std::vector<ChangeRequest>> release_rollback(const std::vector<Snapshot>& ledger,
                                                    long release, const ChangeRequest& base);

}  // namespace flotilla
