#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "snapshots/snapshot.hpp"

namespace flotilla {

// Where one host stands after some snapshot.
struct HostPosition {
  std::string release;  // "" = nothing
  std::string config;   // "" = none
  std::string commit;
  std::string branch;
  long snapshot = 0;  // the record that put it there
  bool operator==(const HostPosition&) const = default;
};

// Pure questions about one unit's snapshots in one environment (oldest
// first), answered by release id, never by "the second newest directory".

// Per host: where the snapshots up to and including `id` left it. A host
// whose last record says it ended somewhere unknown (a failed step that
// could not roll back) keeps its earlier position.
std::map<std::string, HostPosition> fleet_at(const std::vector<Snapshot>& history, long id);

// The snapshot `rollback` returns to. With `to`: that one, which must exist
// and have succeeded. Without: the newest succeeded snapshot before where
// the fleet now stands: a rollback stands where it returned to, so a second
// rollback goes further back; after a failed change, the last good one.
// kBadInput with the reason when there is none.
Result<const Snapshot*> rollback_target(const std::vector<Snapshot>& history,
                                        std::optional<long> to);

// Releases a host must keep: the newest `keep` distinct ones it ran after a
// succeeded snapshot (failed deploys never push good ones out), plus
// `current` and what it ran just before. Newest first.
std::vector<std::string> releases_to_keep(const std::vector<Snapshot>& history,
                                          const std::string& host, const std::string& current,
                                          long keep);

// Configs the host must keep, chosen the same way.
std::vector<std::string> configs_to_keep(const std::vector<Snapshot>& history,
                                         const std::string& host, const std::string& current,
                                         long keep);

}  // namespace flotilla
