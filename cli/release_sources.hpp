#pragma once

#include "cli/global_options.hpp"
#include "cli/targets.hpp"
#include "core/reporter.hpp"
#include "playbooks/change/release.hpp"

namespace flotilla {

// What a release takes from other environments, brought to this controller
// before the release is made: a CI runner that did not make those changes
// sees them as the machine that did.

// The release a command line asks for, with what it takes from other
// environments brought here first: fold_source_ledgers, make_release,
// fetch_missing_releases. Used by every command that makes or shows one.
Result<Release> release_for(const GlobalOptions& options, const Targets& targets,
                            const ReleaseSpec& spec, Reporter& reporter);

// Folds the fleets' copies of the histories a release reads (promote
// --from, rehearse --like/--from, require_rehearsal's `in`, rollback
// --release) into this controller's ledger. A fleet that cannot be read is
// a warning: the local ledger is used as it is.
void fold_source_ledgers(const GlobalOptions& options, const Project& project,
                         const Environment& target, const ReleaseSpec& spec, Reporter& reporter);

// Every stored artifact the release deploys (promote, a rehearsal's reset)
// that this controller's artifact store lacks, taken from the hosts of the
// environment that runs it and checked against its id (import_release).
Result<void> fetch_missing_releases(const GlobalOptions& options, const Project& project,
                                    const Release& release, Reporter& reporter);

}  // namespace flotilla
