#pragma once

#include "playbooks/change/change_context.hpp"
#include "playbooks/change/release.hpp"

namespace flotilla {

// What a release takes from other environments, brought to this controller
// before the release is made: a CI runner that did not make those changes
// sees them as the machine that did.

// The release a command asks for (make_release), with what it takes from
// other environments brought here first: their fleets' copies of their
// ledgers (promote --from, rehearse --like/--from, require_rehearsal's
// `in`, rollback --release), then every stored artifact it deploys that
// this controller's store lacks. Used by every command that makes or
// shows a release (deploy, plan, approve...).
Result<Release> release_for(const ChangeContext& context, const ReleaseSpec& spec);

// Folds the fleets' copies of the histories a release reads into this
// controller's ledger. A fleet that cannot be read is a warning: the local
// ledger is used as it is.
void fold_source_ledgers(const ChangeContext& context, const ReleaseSpec& spec);

// Every stored artifact the release deploys (promote, a rehearsal's reset)
// that this controller's artifact store lacks, taken from the hosts of the
// environment that runs it and checked against its id (import_release).
Result<void> fetch_missing_releases(const ChangeContext& context, const Release& release);

}  // namespace flotilla
