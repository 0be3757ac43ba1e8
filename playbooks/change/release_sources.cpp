#include "playbooks/change/release_sources.hpp"

#include <set>

#include <fmt/format.h>

#include "playbooks/artifact_build.hpp"
#include "playbooks/change/unit_fleet.hpp"
#include "playbooks/release_import.hpp"

namespace flotilla {

void fold_source_ledgers(const ChangeContext& context, const ReleaseSpec& spec) {
  const Project& project = *context.targets.project;
  const Environment& target = *context.targets.environment;
  Reporter& reporter = context.reporter;
  std::set<std::string> sources;
  if (!spec.from.empty()) sources.insert(spec.from);  // promote's or a rehearsal's artifacts
  if (!spec.like.empty() && rules_of(spec.kind).reads_other_environment) {
    sources.insert(spec.like);  // the state a rehearsal starts from
  }
  if (spec.release) sources.insert(target.name);  // rollback --release: which units it changed
  if (target.require_rehearsal && rules_of(spec.kind).rehearsal != RehearsalNeed::kNever) {
    sources.insert(target.require_rehearsal->in);
  }
  if (target.require_soak && rules_of(spec.kind).needs_soak)
    sources.insert(target.require_soak->in);
  if (!context.other_environment) return;
  const std::string unit = spec.units.size() == 1 && !spec.all ? spec.units.front() : "";
  for (const auto& env : sources) {
    if (project.environment(env) == nullptr) continue;  // make_release names it
    auto other = context.other_environment(env);
    Result<void> synced = other ? sync_ledger((*other)->context(), unit)
                                : Result<void>(tl::unexpected(other.error()));
    if (!synced) {
      reporter.warning(
          fmt::format("could not read {}'s history from its hosts ({}); using this "
                      "controller's ledger of {}",
                      env, synced.error().message, env));
    }
  }
}

Result<void> fetch_missing_releases(const ChangeContext& context, const Release& release) {
  ArtifactStore store = artifact_store(*context.targets.project);
  Reporter& reporter = context.reporter;
  for (const auto& change : release.changes) {
    if (!change.stored || store.manifest(change.stored->release)) continue;
    const StoredTarget& stored = *change.stored;
    reporter.progress(
        fmt::format("{} of {} is not in this controller's artifact store: taking it "
                    "from {}'s hosts",
                    stored.release.substr(0, 12), change.unit, stored.environment));
    if (!context.other_environment) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("{} of {} is not in this controller's artifact store",
                              stored.release.substr(0, 12), change.unit));
    }
    auto other = context.other_environment(stored.environment);
    if (!other) return tl::unexpected(other.error());
    auto fleet = connect_unit((*other)->context(), change.unit);
    if (!fleet) return tl::unexpected(fleet.error());
    std::vector<std::size_t> hosts;
    std::vector<std::string> names;
    for (const auto& [name, host] : fleet->by_name) {
      hosts.push_back(host.index);
      names.push_back(name);
    }
    nlohmann::json provenance = {{"unit", change.unit},
                                 {"commit", stored.commit},
                                 {"branch", stored.branch},
                                 {"environment", stored.environment}};
    auto imported = import_release(*fleet->transport, hosts, names, fleet->unit->deploy_to,
                                   stored.release, store, provenance, reporter);
    if (!imported) return tl::unexpected(imported.error());
  }
  return {};
}

Result<Release> release_for(const ChangeContext& context, const ReleaseSpec& spec) {
  if (auto ok = check_release_spec(spec); !ok) return tl::unexpected(ok.error());
  fold_source_ledgers(context, spec);
  auto release = make_release(*context.targets.project, *context.targets.environment, spec);
  if (!release) return tl::unexpected(release.error());
  if (auto fetched = fetch_missing_releases(context, *release); !fetched) {
    return tl::unexpected(fetched.error());
  }
  return release;
}

}  // namespace flotilla
