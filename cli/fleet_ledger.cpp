#include "cli/fleet_ledger.hpp"

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
    ChangeContext context = change_context(options, *targets, reporter);
    for (const auto& unit : targets->project->units) {
      if (!what.unit.empty() && unit.name != what.unit) continue;
      auto fleet = connect_unit(context, unit.name);
      if (!fleet) {
        if (fleet.error().kind == ErrorKind::kBadInput) continue;  // no hosts here
        return tl::unexpected(fleet.error());
      }
      auto synced = survey_and_sync(context, *fleet, ledger);
      if (!synced) return tl::unexpected(synced.error());
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

}  // namespace flotilla
