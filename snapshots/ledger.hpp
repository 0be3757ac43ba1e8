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
  // Folds in the hosts' copies of records: adds a record or a host's part of
  // it, and finished outcomes over "running". Reads the ledger once and
  // writes only the records that changed; returns the whole merged ledger,
  // oldest first.
  Result<std::vector<Snapshot>> merge(const std::vector<Snapshot>& from_hosts) const;

 private:
  std::string path(long id) const;
  std::string dir_;
};

}  // namespace flotilla
