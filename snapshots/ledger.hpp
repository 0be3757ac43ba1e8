#pragma once

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
  Result<std::optional<Snapshot>> get(long id) const;
  long max_id() const;
  Result<void> save(const Snapshot& snapshot) const;
  // Folds in a host's copy of a record: adds the record or the host's part
  // of it, and a finished outcome over "running". Returns whether anything changed.
  Result<bool> merge(const Snapshot& from_host) const;

 private:
  std::string path(long id) const;
  std::string dir_;
};

}  // namespace flotilla
