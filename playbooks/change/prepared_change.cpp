#include "playbooks/change/prepared_change.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "playbooks/artifact_build.hpp"
#include "playbooks/branch_policy.hpp"
#include "playbooks/config_bundle.hpp"
#include "playbooks/secret_bundle.hpp"
#include "snapshots/fleet_history.hpp"

namespace flotilla {
namespace {

// The unit's config files, kept locally for rollbacks; nullopt if it has none.
Result<std::optional<ConfigBundle>> unit_config(const Project& project, const Unit& unit) {
  if (unit.config_files.empty()) return std::optional<ConfigBundle>();
  auto bundle = read_config_files(project, unit);
  if (!bundle) return tl::unexpected(bundle.error());
  if (auto saved = save_config(project, *bundle); !saved) return tl::unexpected(saved.error());
  return std::optional<ConfigBundle>(std::move(*bundle));
}

// The policy every change passes before anything is built or read.
Result<void> check_policy(const Project& project, const Environment& env, const Unit& unit,
                          const ChangeRequest& request) {
  if (request.kind == ChangeKind::kHotfix) {
    if (auto ok = check_hotfix(request.ref, request.ticket); !ok) return ok;
  }
  if (rules_of(request.kind).needs_ticket) {
    if (auto ok = check_ticket(project, env, unit, request.ticket); !ok) return ok;
  }
  if (request.kind == ChangeKind::kRestore && !unit.restore_command) {
    return fail(
        ErrorKind::kBadInput,
        fmt::format("{}: unit '{}' has no restore command (restore: CMD, with {{{{backup}}}} "
                    "= the backup's location)",
                    project.path, unit.name));
  }
  if (request.kind == ChangeKind::kConfig && unit.config_files.empty() && unit.secrets.empty()) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{}: unit '{}' declares no config files (config: {{files: [...]}}) "
                            "and no secrets",
                            project.path, unit.name));
  }
  return {};
}

// Where each host is headed: the new build, its release with a new config,
// or where a snapshot left it (`restores`); for a restore, its own release
// with the backup snapshot `restores` recorded for it (`backups`: host ->
// location).
struct Destination {
  TargetOf target_of;
  std::optional<long> restores;
  std::vector<std::string> checks;
  std::map<std::string, std::string> backups;
};

// A restore: the hosts whose backup snapshot `id` recorded go through a
// stop, the restore and a start of the release they run. Only a backup
// that was made (and, where the unit verifies, passed its verify) counts.
Result<Destination> restore_destination(const std::vector<Snapshot>& history, long id) {
  auto snapshot =
      std::find_if(history.begin(), history.end(), [id](const Snapshot& s) { return s.id == id; });
  if (snapshot == history.end()) {
    return fail(ErrorKind::kBadInput,
                fmt::format("no snapshot {} for this unit (see `flotilla backups list`)", id));
  }
  if (!snapshot->disputed.empty()) {
    return fail(ErrorKind::kBadInput,
                fmt::format("snapshot {} is disputed ({}): its backup list is not trusted, nothing "
                            "is restored from it",
                            id, snapshot->disputed));
  }
  Destination out;
  out.restores = id;
  // Every value is checked for its type: a malformed field is skipped, never thrown.
  auto flag = [](const nlohmann::json& b, const char* key) {
    auto it = b.find(key);
    return it != b.end() && it->is_boolean() && it->get<bool>();
  };
  if (snapshot->backup.is_array()) {
    for (const auto& b : snapshot->backup) {
      if (!b.is_object() || !flag(b, "ok") || !b.contains("host") || !b["host"].is_string() ||
          !b.contains("location") || !b["location"].is_string()) {
        continue;
      }
      if (b.contains("verified") && !flag(b, "verified")) {
        return fail(ErrorKind::kBadInput,
                    fmt::format("snapshot {}'s backup on {} failed its verify: it cannot be "
                                "restored",
                                id, b.value("host", "?")));
      }
      std::string location = b.value("location", "");
      if (location.empty()) continue;
      out.backups[b.value("host", "")] = location;
      out.checks.push_back(fmt::format("brings back snapshot {}'s backup on {}: {}{}", id,
                                       b.value("host", ""), location,
                                       b.contains("verified") ? " (verified)" : ""));
    }
  }
  if (out.backups.empty()) {
    return fail(ErrorKind::kBadInput,
                fmt::format("snapshot {} recorded no backup to restore (see `flotilla backups "
                            "list`)",
                            id));
  }
  auto backups = out.backups;
  out.target_of = [backups](const std::string& host,
                            const HostState& state) -> std::optional<HostTarget> {
    if (!backups.count(host) || !state.release) return std::nullopt;
    return HostTarget{*state.release, "", "", state.commit, state.branch};
  };
  return out;
}

Result<Destination> destination_of(const ChangeRequest& request,
                                   const std::vector<Snapshot>& history,
                                   const std::optional<HostTarget>& new_build,
                                   std::string config_digest, std::string secrets_digest) {
  switch (request.kind) {
    case ChangeKind::kDeploy:
    case ChangeKind::kHotfix:
    case ChangeKind::kRehearsal: {
      HostTarget target = *new_build;
      return Destination{[target](const std::string&, const HostState&) {
                           return std::optional<HostTarget>(target);
                         },
                         std::nullopt,
                         {},
                         {}};
    }
    case ChangeKind::kConfig:
      return Destination{
          [config_digest, secrets_digest](const std::string&,
                                          const HostState& state) -> std::optional<HostTarget> {
            if (!state.release) return std::nullopt;  // nothing runs there to read it
            return HostTarget{*state.release, config_digest, secrets_digest, state.commit,
                              state.branch};
          },
          std::nullopt,
          {},
          {}};
    case ChangeKind::kRestore:
      return restore_destination(history, request.to.value_or(0));
    case ChangeKind::kRollback:
      break;
  }
  auto target = rollback_target(history, request.to);
  if (!target) return tl::unexpected(target.error());
  Destination out;
  out.restores = (*target)->id;
  out.checks.push_back(fmt::format("returns to snapshot {} ({} of {}, {})", (*target)->id,
                                   change_kind_name((*target)->kind), (*target)->started,
                                   (*target)->outcome));
  auto positions = fleet_at(history, (*target)->id);
  out.target_of = [positions, secrets_digest](const std::string& host,
                                              const HostState&) -> std::optional<HostTarget> {
    auto it = positions.find(host);
    if (it == positions.end()) return std::nullopt;  // not part of the fleet back then
    const HostPosition& p = it->second;
    return HostTarget{p.release, p.config, secrets_digest, p.commit, p.branch};
  };
  return out;
}

// Where a stored artifact came from, read from the unit's repository: the
// commit must exist there and, unless this is a rehearsal's reset, a branch
// `env` allows must contain it (the branch it was built from is not enough:
// release/1.0 reaches production only once master has it).
Result<ResolvedRef> stored_provenance(const Project& project, const Unit& unit,
                                      const Environment& env, const StoredTarget& stored,
                                      bool check_branches, const GitAccess& access) {
  auto git = GitSource::open(unit.source.repo, project.state_dir + "/git", access);
  if (!git) return tl::unexpected(git.error());
  auto ref = git->resolve(stored.commit);
  if (!ref) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{} runs {} of {} built from commit {}, which {} does not have",
                            stored.environment, stored.release.substr(0, 12), unit.name,
                            stored.commit.substr(0, 12), unit.source.repo));
  }
  ref->branch.reset();
  ref->tag.reset();
  if (check_branches) {
    if (auto ok = check_branch_policy(project, env, *ref, *git); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  ref->branch = stored.branch;
  return ref;
}

}  // namespace

namespace {

// What a change brings to its hosts, read before any host: the release
// (stored, or built now), its provenance, the config version, and the
// checks that say so in the plan.
struct ChangeSource {
  std::optional<Manifest> manifest;
  ResolvedRef ref;
  std::optional<ConfigBundle> config;
  std::vector<std::string> checks;
};

// A rehearsal builds under the branch policy of the environment it rehearses.
Result<const Environment*> policy_environment(const ChangeContext& context,
                                              const ChangeRequest& request) {
  const Project& project = *context.targets.project;
  if (request.policy_environment.empty()) return context.targets.environment;
  const Environment* policy = project.environment(request.policy_environment);
  if (policy == nullptr) {
    return fail(ErrorKind::kBadInput, fmt::format("unknown environment '{}' in {}",
                                                  request.policy_environment, project.path));
  }
  return policy;
}

Result<void> take_stored(const ChangeContext& context, const ChangeRequest& request,
                         const Unit& unit, const Environment& policy, ArtifactStore& store,
                         RolloutSources& sources, ChangeSource& out) {
  const Project& project = *context.targets.project;
  const StoredTarget& stored = *request.stored;
  auto read = store.manifest(stored.release);
  if (!read) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{} runs {} of {} (snapshot {}), which this controller's artifact "
                            "store does not hold: {}",
                            stored.environment, stored.release.substr(0, 12), unit.name,
                            stored.snapshot, read.error().message));
  }
  auto provenance =
      stored_provenance(project, unit, policy, stored, request.check_branches, context.git);
  if (!provenance) return tl::unexpected(provenance.error());
  out.manifest = std::move(*read);
  out.ref = std::move(*provenance);
  sources.releases[stored.release] = {*out.manifest, store.archive_path(stored.release)};
  out.checks.push_back(fmt::format("artifact {} as {} runs it (snapshot {}), no build",
                                   stored.release.substr(0, 12), stored.environment,
                                   stored.snapshot));
  if (request.check_branches) {
    out.checks.push_back(fmt::format("commit {} is on a branch {} allows",
                                     out.ref.commit.substr(0, 12), policy.name));
  }
  if (!stored.config.empty()) {
    auto bundle = load_config(project, stored.config);
    if (!bundle) return tl::unexpected(bundle.error());
    out.config = std::move(*bundle);
  }
  return {};
}

Result<ChangeSource> change_source(const ChangeContext& context, const ChangeRequest& request,
                                   const Unit& unit, ArtifactStore& store,
                                   RolloutSources& sources) {
  const Project& project = *context.targets.project;
  auto policy = policy_environment(context, request);
  if (!policy) return tl::unexpected(policy.error());
  ChangeSource out;
  if (request.stored) {
    if (auto taken = take_stored(context, request, unit, **policy, store, sources, out); !taken) {
      return tl::unexpected(taken.error());
    }
    return out;
  }
  if (rules_of(request.kind).brings_new_build) {
    auto built =
        build_artifact(project, unit, *policy, {request.ref, false, std::chrono::minutes(30)},
                       context.git, context.reporter);
    if (!built) return tl::unexpected(built.error());
    auto read = store.manifest(built->id);
    if (!read) return tl::unexpected(read.error());
    out.manifest = std::move(*read);
    out.ref = built->ref;
    sources.releases[built->id] = {*out.manifest, built->archive_path};
    out.checks.push_back(fmt::format("ref {} ({}) allowed in {}", out.ref.given,
                                     out.ref.commit.substr(0, 12), (*policy)->name));
  }
  if (rules_of(request.kind).reads_unit_config) {
    auto bundle = unit_config(project, unit);
    if (!bundle) return tl::unexpected(bundle.error());
    out.config = std::move(*bundle);
  }
  return out;
}

// Secrets are always today's values, rollbacks included: a rotated key
// may have been revoked, so no change ever goes back to an old one.
// Returns their digest ("" without secrets); the values are redacted.
Result<std::string> todays_secrets(const Unit& unit, Reporter& reporter, RolloutSources& sources) {
  auto secrets = resolve_secrets(unit);
  if (!secrets) return tl::unexpected(secrets.error());
  for (const auto& warning : exposed_secret_files(unit)) reporter.warning(warning);
  if (!*secrets) return std::string();
  for (const auto& [name, value] : (*secrets)->values) reporter.redact(value);
  sources.secrets = **secrets;
  return (*secrets)->digest;
}

// The plan's annotations (provenance, registry, restores, versions,
// checks) and the config versions a rollback must re-send, kept here.
void complete_plan(const Project& project, const ChangeSource& source,
                   const Destination& destination, const std::string& secrets_digest,
                   PreparedChange& out) {
  out.plan.ref = source.ref;
  if (project.artifacts) {
    out.plan.bytes_from = project.artifacts->url + "/" + project.artifacts->repository;
  }
  out.plan.restores = destination.restores;
  for (auto& h : out.plan.hosts) {
    if (auto it = destination.backups.find(h.host); it != destination.backups.end() && h.change)
      h.restore_backup = it->second;
  }
  if (source.config) out.plan.config = source.config->digest;
  out.plan.secrets = secrets_digest;
  out.plan.checks.insert(out.plan.checks.begin(), source.checks.begin(), source.checks.end());
  for (auto& h : out.plan.hosts) {
    if (h.error || !h.send_config || out.sources.configs.count(h.target.config)) continue;
    auto c = load_config(project, h.target.config);
    if (!c) {
      h.error = c.error();
      continue;
    }
    out.sources.configs[h.target.config] = std::move(*c);
  }
}

}  // namespace

Result<PreparedChange> prepare_change(const ChangeContext& context, const ChangeRequest& request) {
  const Project& project = *context.targets.project;
  const Environment& env = *context.targets.environment;
  auto unit_found = find_unit(context.targets, request.unit);
  if (!unit_found) return tl::unexpected(unit_found.error());
  const Unit& unit = **unit_found;
  if (auto ok = check_policy(project, env, unit, request); !ok) return tl::unexpected(ok.error());

  auto fleet = connect_unit(context, request.unit);
  if (!fleet) return tl::unexpected(fleet.error());
  PreparedChange out;
  Ledger ledger = ledger_of(context.targets);
  auto secrets_digest = todays_secrets(unit, context.reporter, out.sources);
  if (!secrets_digest) return tl::unexpected(secrets_digest.error());
  ArtifactStore store = artifact_store(project);
  auto source = change_source(context, request, unit, store, out.sources);
  if (!source) return tl::unexpected(source.error());
  const Manifest* manifest = source->manifest ? &*source->manifest : nullptr;
  const std::string config_digest = source->config ? source->config->digest : "";

  // One read of every host: what it runs and keeps, which of the new
  // release's files it lacks, and its copy of the history.
  auto reading = survey_and_sync(context, *fleet, ledger, manifest);
  if (!reading) return tl::unexpected(reading.error());
  for (auto& s : reading->ledger) {
    out.highest_snapshot = std::max(out.highest_snapshot, s.id);
    if (s.unit == unit.name) out.history.push_back(std::move(s));
  }

  std::optional<HostTarget> new_build;
  if (manifest) {
    new_build = HostTarget{manifest->id, config_digest, *secrets_digest, source->ref.commit,
                           source->ref.branch.value_or("")};
  }
  auto destination =
      destination_of(request, out.history, new_build, config_digest, *secrets_digest);
  if (!destination) return tl::unexpected(destination.error());
  source->checks.insert(source->checks.end(), destination->checks.begin(),
                        destination->checks.end());
  if (source->config) out.sources.configs[config_digest] = *source->config;

  // A release some host pruned comes back from the local artifact store.
  auto manifest_of = [&store, &out](const std::string& release) {
    auto m = store.manifest(release);
    if (m) out.sources.releases[release] = {*m, store.archive_path(release)};
    return m;
  };
  out.plan = make_plan(request.kind, unit, env, manifest, fleet->plan_hosts, reading->surveys,
                       *fleet->transport, destination->target_of, manifest_of);
  complete_plan(project, *source, *destination, *secrets_digest, out);
  for (const auto& h : out.plan.hosts) fleet->by_name[h.host].previous_state = h.state;
  out.fleet = std::move(*fleet);
  return out;
}

Result<std::vector<PreparedChange>> prepare_release(const ChangeContext& context,
                                                    const std::vector<ChangeRequest>& changes) {
  std::vector<PreparedChange> out;
  for (const auto& request : changes) {
    auto prepared = prepare_change(context, request);
    if (!prepared) return tl::unexpected(prepared.error());
    out.push_back(std::move(*prepared));
  }
  return out;
}

std::vector<const DeployPlan*> plans_of(const std::vector<PreparedChange>& prepared) {
  std::vector<const DeployPlan*> plans;
  for (const auto& p : prepared) plans.push_back(&p.plan);
  return plans;
}

}  // namespace flotilla
