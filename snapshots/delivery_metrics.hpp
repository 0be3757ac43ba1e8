#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "snapshots/snapshot.hpp"

namespace flotilla {

// The four delivery measures (DORA's) over an environment's ledger, for
// changes that started in [since, now): deploys (deploys and hotfixes that
// succeeded) and their frequency per day; lead time for changes (commit
// time -> change end; median, p90); change failure rate (changes that
// failed, or whose unit's next change was a rollback or hotfix within
// 24 h); time to restore (median, from the failure to the unit's next
// succeeded change). Every figure lists the snapshot ids behind it, so a
// person can check it.
nlohmann::json delivery_metrics(const std::vector<Snapshot>& ledger, std::int64_t since,
                                std::int64_t now);

}  // namespace flotilla
