#pragma once

#include <string>
#include <vector>

#include "cli/global_options.hpp"
#include "core/reporter.hpp"
#include "snapshots/snapshot.hpp"

namespace flotilla {

// Which part of the ledger a command reads.
struct LedgerOptions {
  std::string unit;
  std::string ticket;
  long id = 0;
  bool offline = false;
};

// The environment's ledger (oldest first), brought up to date from every
// host's own copy first unless `offline` — so a CI runner with an empty
// state directory sees the same history as a laptop.
Result<std::vector<Snapshot>> read_ledger(const GlobalOptions& options, const LedgerOptions& what,
                                          Reporter& reporter);

// `history --ticket T`: the release's whole path under one ticket, its
// rehearsal in another environment and the change here, in time order.
// The other environments' records come from this controller's ledger.
Result<std::vector<Snapshot>> read_ticket_history(const GlobalOptions& options,
                                                  const LedgerOptions& what, Reporter& reporter);

}  // namespace flotilla
