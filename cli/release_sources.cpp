#include "cli/release_sources.hpp"

#include <set>

#include <fmt/format.h>

#include "cli/fleet_connection.hpp"
#include "cli/fleet_ledger.hpp"
#include "cli/targets.hpp"
#include "playbooks/artifact_build.hpp"
#include "playbooks/change/unit_fleet.hpp"
#include "playbooks/release_import.hpp"

namespace flotilla {
namespace {

// The same command line, pointed at another environment's whole fleet.
GlobalOptions options_for(const GlobalOptions& options, const std::string& environment) {
  GlobalOptions theirs = options;
  theirs.env = environment;
  theirs.inventory.clear();
  theirs.limit.clear();
  return theirs;
}

}  // namespace

void fold_source_ledgers(const GlobalOptions& options, const Project& project,
                         const Environment& target, const ReleaseSpec& spec, Reporter& reporter) {
  std::set<std::string> sources;
  for (const std::string* env : {&spec.from, &spec.like}) {
    if (!env->empty()) sources.insert(*env);
  }
  if (spec.release) sources.insert(target.name);  // rollback --release: which units it changed
  if (target.require_rehearsal && rules_of(spec.kind).rehearsal != RehearsalNeed::kNever) {
    sources.insert(target.require_rehearsal->in);
  }
  for (const auto& env : sources) {
    if (project.environment(env) == nullptr) continue;  // make_release names it
    GlobalOptions theirs = options_for(options, env);
    LedgerOptions what;
    what.unit = spec.units.size() == 1 && !spec.all ? spec.units.front() : "";
    if (auto read = read_ledger(theirs, what, reporter); !read) {
      reporter.warning(
          fmt::format("could not read {}'s history from its hosts ({}); using this "
                      "controller's ledger of {}",
                      env, read.error().message, env));
    }
  }
}

Result<void> fetch_missing_releases(const GlobalOptions& options, const Project& project,
                                    const Release& release, Reporter& reporter) {
  ArtifactStore store = artifact_store(project);
  for (const auto& change : release.changes) {
    if (!change.stored || store.manifest(change.stored->release)) continue;
    const StoredTarget& stored = *change.stored;
    reporter.progress(
        fmt::format("{} of {} is not in this controller's artifact store: taking it "
                    "from {}'s hosts",
                    stored.release.substr(0, 12), change.unit, stored.environment));
    GlobalOptions theirs = options_for(options, stored.environment);
    auto targets = load_targets(theirs, reporter, true);
    if (!targets) return tl::unexpected(targets.error());
    ChangeContext context = change_context(theirs, *targets, reporter);
    auto fleet = connect_unit(context, change.unit);
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

Result<Release> release_for(const GlobalOptions& options, const Targets& targets,
                            const ReleaseSpec& spec, Reporter& reporter) {
  if (auto ok = check_release_spec(spec); !ok) return tl::unexpected(ok.error());
  fold_source_ledgers(options, *targets.project, *targets.environment, spec, reporter);
  auto release = make_release(*targets.project, *targets.environment, spec);
  if (!release) return tl::unexpected(release.error());
  if (auto fetched = fetch_missing_releases(options, *targets.project, *release, reporter);
      !fetched) {
    return tl::unexpected(fetched.error());
  }
  return release;
}

}  // namespace flotilla
