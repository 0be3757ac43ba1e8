#pragma once

#include <vector>

#include "core/error.hpp"
#include "playbooks/change/change_context.hpp"
#include "snapshots/snapshot.hpp"

namespace flotilla {

// Signs `snapshot` with this controller's key (`ssh-keygen -Y sign`,
// namespace flotilla-record) before its lines go to hosts. Without a key
// the record goes unsigned (an environment with `recorders:` never gets
// this far: check_recorder refused it before the lock).
Result<void> sign_record(const ChangeContext& context, Snapshot& snapshot);

// Before the lock: in an environment with `recorders:`, this controller
// must hold a key listed there, or its records would count for nobody.
// Bad input naming the file otherwise; nothing on any host changes.
Result<void> check_recorder(const ChangeContext& context);

// Copies of records learned from hosts: in an environment with
// `recorders:`, each copy's signature is checked against it over the whole
// record; one that is unsigned, altered or signed by someone unlisted gets
// `disputed` (why, naming the host). Anything a host wrote in `disputed`
// or `signer` is dropped first. Checks are cached (in memory, and under
// the state directory: a controller checks each record once).
void verify_copies(const ChangeContext& context, std::vector<Snapshot>& copies,
                   const std::vector<std::string>& hosts_of_copies);

// One line for `plan` and the change record: what records are trusted here.
std::string record_trust(const ChangeContext& context);

}  // namespace flotilla
