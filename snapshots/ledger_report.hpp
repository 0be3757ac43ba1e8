#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/reporter.hpp"
#include "snapshots/snapshot.hpp"

namespace flotilla {

// How the ledger reads to a person: `snapshots list`, `history`,
// `snapshots show` and `backups list`. Each prints its table through the
// reporter and returns its JSON document.

// One line per snapshot (history: newest first, the ledger is listed in order).
nlohmann::json report_snapshot_list(Reporter& reporter, std::vector<Snapshot> snapshots,
                                    bool as_history);
// One snapshot, host by host.
void report_snapshot(Reporter& reporter, const Snapshot& snapshot);
// What each snapshot's backup recorded, newest first.
nlohmann::json report_backups(Reporter& reporter, const std::vector<Snapshot>& snapshots);

// "to snapshot 4", "config 1a2b...", "master @ 9f8e...": what a snapshot changed.
std::string what_changed(const Snapshot& snapshot);

}  // namespace flotilla
