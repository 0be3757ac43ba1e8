#include "cli/fleet_ledger.hpp"

#include <algorithm>

#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"
#include "playbooks/change/unit_fleet.hpp"

namespace flotilla {

Result<std::vector<Snapshot>> read_ledger(const GlobalOptions& options, const LedgerOptions& what,
                                          Reporter& reporter) {
  auto loaded = load_project_environment(options);
  if (!loaded) return tl::unexpected(loaded.error());
  Ledger ledger(loaded->project.state_dir, loaded->environment->name);
  if (!what.offline) {
    auto targets = load_targets(options, reporter, true);
    if (!targets) return tl::unexpected(targets.error());
    if (auto synced = sync_ledger(change_context(options, *targets, reporter), what.unit);
        !synced) {
      return tl::unexpected(synced.error());
    }
  }
  auto all = ledger.list(what.unit);
  if (!all) return tl::unexpected(all.error());
  std::vector<Snapshot> out;
  for (auto& s : *all) {
    if (what.ticket.empty() || s.ticket == what.ticket) out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<Snapshot>> read_ticket_history(const GlobalOptions& options,
                                                  const LedgerOptions& what, Reporter& reporter) {
  auto snapshots = read_ledger(options, what, reporter);
  if (!snapshots || what.ticket.empty()) return snapshots;
  auto loaded = load_project_environment(options);
  if (!loaded) return tl::unexpected(loaded.error());
  for (const auto& env : loaded->project.environments) {
    if (env.name == loaded->environment->name) continue;
    auto theirs = Ledger(loaded->project.state_dir, env.name).list();
    if (!theirs) return tl::unexpected(theirs.error());
    for (auto& s : *theirs) {
      if (s.ticket == what.ticket) snapshots->push_back(std::move(s));
    }
  }
  std::stable_sort(snapshots->begin(), snapshots->end(), [](const Snapshot& a, const Snapshot& b) {
    return a.started < b.started;  // ISO times: the text order is the time order
  });
  return snapshots;
}

}  // namespace flotilla
