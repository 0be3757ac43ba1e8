#pragma once

#include <nlohmann/json.hpp>

#include "core/reporter.hpp"
#include "playbooks/change/prepared_change.hpp"

namespace flotilla {

// The unit's backup, on its backup hosts (default: the first host), before
// anything changes. Returns what the snapshot records (redacted: it is kept
// locally and on the hosts); kFailed naming every host that failed.
Result<nlohmann::json> run_backup(const PreparedChange& prepared, Reporter& reporter);

}  // namespace flotilla
