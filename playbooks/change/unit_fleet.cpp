#include "playbooks/change/unit_fleet.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "playbooks/change/record_signing.hpp"
#include "playbooks/deploy_plan.hpp"
#include "playbooks/host_commands.hpp"
#include "playbooks/lock_host/deploy_lock.hpp"
#include "playbooks/lock_host/lock_host.hpp"

namespace flotilla {

Ledger ledger_of(const Targets& targets) {
  return Ledger(targets.project->state_dir, targets.environment->name);
}

Result<UnitFleet> connect_unit(const ChangeContext& context, const std::string& unit_name) {
  UnitFleet out;
  out.targets = &context.targets;
  auto unit = find_unit(context.targets, unit_name);
  if (!unit) return tl::unexpected(unit.error());
  out.unit = *unit;
  auto hosts = unit_hosts(context.targets, *out.unit);
  if (!hosts) return tl::unexpected(hosts.error());
  out.hosts = std::move(*hosts);
  const Inventory& inventory = context.targets.inventory.inventory;
  const std::set<std::string> used = unit_template_variables(*out.unit);
  for (std::size_t i = 0; i < out.hosts.size(); ++i) {
    std::size_t h = out.hosts[i];
    nlohmann::json vars = inventory.resolved_vars(h);
    std::optional<std::string> pair;
    if (auto it = vars.find(out.unit->rollout.pair_key); it != vars.end() && !it->is_null()) {
      pair = it->is_string() ? it->get<std::string>() : it->dump();
    }
    const std::string& name = inventory.hosts()[h].name;
    out.plan_hosts.push_back({name, pair});
    RolloutHost host;
    host.index = i;
    for (auto& [k, v] : vars.items()) {
      if (is_vault_value(v)) {
        // Decrypted only where a command uses it, and before any host changes.
        if (!used.contains(k)) continue;
        auto plain = inventory.reveal(v);
        if (!plain) {
          return fail(ErrorKind::kBadInput, fmt::format("host {}: {{{{{}}}}} in units.{}: {}", name,
                                                        k, out.unit->name, plain.error().message));
        }
        context.reporter.redact(plain->get<std::string>());
        host.vars[k] = plain->get<std::string>();
        continue;
      }
      host.vars[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    host.vars["host"] = name;
    host.vars.try_emplace("ansible_host", name);
    host.vars["deploy_to"] = out.unit->deploy_to;
    out.by_name[name] = std::move(host);
  }
  auto transport = context.connect(context.targets, out.hosts);
  if (!transport) return tl::unexpected(transport.error());
  out.transport = std::move(*transport);
  return out;
}

Result<FleetReading> survey_and_sync(const ChangeContext& context, UnitFleet& fleet,
                                     const Ledger& ledger, const Manifest* manifest,
                                     const std::map<std::size_t, HealthProbe>& probes) {
  Reporter& reporter = context.reporter;
  std::vector<std::size_t> all(fleet.plan_hosts.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  FleetReading reading;
  // When the lock host is one of these, its snapshot counter (needed below
  // if any host has history) is read in the same call as the surveys.
  std::vector<HostTask> alongside;
  std::vector<Result<CommandResult>> alongside_results;
  if (auto lock_host = lock_host_of(*fleet.targets)) {
    auto at = std::find(fleet.hosts.begin(), fleet.hosts.end(), *lock_host);
    if (at != fleet.hosts.end()) {
      alongside.push_back({static_cast<std::size_t>(at - fleet.hosts.begin()),
                           lock_counter_command(fleet.targets->environment->name)});
    }
  }
  reading.surveys =
      survey_hosts(*fleet.transport, all, HostLayout{fleet.unit->deploy_to},
                   manifest != nullptr ? manifest_files(*manifest) : std::set<std::string>(),
                   probes, alongside, &alongside_results);
  std::vector<Snapshot> copies;
  std::vector<std::string> hosts_of_copies;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& survey = reading.surveys[i];
    if (!survey) {
      reporter.warning(fmt::format("{}: {}", fleet.plan_hosts[i].name, survey.error().message));
      continue;
    }
    const std::string& host = fleet.plan_hosts[i].name;
    for (const auto& snapshot : survey->state.history) {
      // A host's copy speaks for that host only: its own part of the record.
      auto own = snapshot.hosts.find(host);
      if (snapshot.environment != fleet.targets->environment->name || own == snapshot.hosts.end())
        continue;
      Snapshot copy = snapshot;
      copy.hosts = {{host, own->second}};
      copies.push_back(std::move(copy));
      hosts_of_copies.push_back(host);
    }
  }
  std::optional<long> counter;
  if (!copies.empty()) {
    auto read = !alongside_results.empty()
                    ? DeployLock::parse_snapshot_counter(alongside_results.front())
                    : read_snapshot_counter(context.targets, context.connect, *fleet.transport,
                                            fleet.hosts);
    if (!read) return tl::unexpected(read.error());
    counter = *read;
  }
  verify_copies(context, copies, hosts_of_copies);
  auto merged = ledger.merge(copies, counter);
  if (!merged) return tl::unexpected(merged.error());
  reading.ledger = std::move(*merged);
  return reading;
}

Result<void> sync_ledger(const ChangeContext& context, const std::string& unit) {
  Ledger ledger = ledger_of(context.targets);
  for (const auto& u : context.targets.project->units) {
    if (!unit.empty() && u.name != unit) continue;
    auto fleet = connect_unit(context, u.name);
    if (!fleet) {
      if (fleet.error().kind == ErrorKind::kBadInput) continue;  // no hosts here
      return tl::unexpected(fleet.error());
    }
    auto synced = survey_and_sync(context, *fleet, ledger);
    if (!synced) return tl::unexpected(synced.error());
  }
  return {};
}

}  // namespace flotilla
