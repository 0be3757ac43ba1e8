#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "snapshots/snapshot.hpp"

namespace flotilla {

// The controller's copy of an environment's snapshots:
//   STATE_DIR/snapshots/ENV/<id>.json
// Each write is a rename, so a killed controller leaves whole records (a
// record still "running" is one whose controller died). Hosts keep their
// part of every record too (merge() folds those in), so a controller with
// an empty ledger rebuilds it from the fleet.
class Ledger {
 public:
  Ledger(const std::string& state_dir, const std::string& environment);

  // Every record, oldest first; `unit` non-empty keeps only that unit's.
  // Unreadable files are errors naming the file.
  Result<std::vector<Snapshot>> list(const std::string& unit = "") const;
  Result<void> save(const Snapshot& snapshot) const;
  // Folds in the hosts' copies of records, each of which speaks only for
  // its own host (the caller keeps only that host's part): adds a record
  // or a host's part of it, and a finished outcome over "running" when
  // every copy of the record agrees on it. What this ledger already holds
  // is never rewritten by a host, and a record known only from hosts
  // whose copies disagree on what the change was is kept as "disputed"
  // (never a rollback target). Copies numbered above `highest_id` (the lock
  // host's counter: no change can have a larger id) are ignored. Reads the
  // ledger once and writes only the records that changed; returns the
  // whole merged ledger, oldest first.
  Result<std::vector<Snapshot>> merge(const std::vector<Snapshot>& from_hosts,
                                      std::optional<long> highest_id = std::nullopt) const;

 private:
  std::string path(long id) const;
  std::string dir_;
};

}  // namespace flotilla
