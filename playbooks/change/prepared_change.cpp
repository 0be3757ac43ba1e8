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
                                   change_kind_name((*target)->kind), (*target)->started, (*target)->outcome));
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

Result<PreparedChange> prepare_change(const ChangeContext& context, const ChangeRequest& request) {
  Reporter& reporter = context.reporter;
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

  // Secrets are always today's values, rollbacks included: a rotated key
  // may have been revoked, so no change ever goes back to an old one.
  auto secrets = resolve_secrets(unit);
  if (!secrets) return tl::unexpected(secrets.error());
  for (const auto& warning : exposed_secret_files(unit)) reporter.warning(warning);
  if (*secrets) {
    for (const auto& [name, value] : (*secrets)->values) reporter.redact(value);
    out.sources.secrets = **secrets;
  }
  const std::string secrets_digest = *secrets ? (*secrets)->digest : "";

  ArtifactStore store = artifact_store(project);
  std::optional<Manifest> manifest;
  ResolvedRef ref;
  std::optional<ConfigBundle> config;
  std::vector<std::string> checks;
  // A rehearsal builds under the branch policy of the environment it rehearses.
  const Environment* policy = &env;
  if (!request.policy_environment.empty()) {
    policy = project.environment(request.policy_environment);
    if (policy == nullptr) {
      return fail(ErrorKind::kBadInput, fmt::format("unknown environment '{}' in {}",
                                                    request.policy_environment, project.path));
    }
  }
  if (request.stored) {
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
        stored_provenance(project, unit, *policy, stored, request.check_branches, context.git);
    if (!provenance) return tl::unexpected(provenance.error());
    manifest = std::move(*read);
    ref = std::move(*provenance);
    out.sources.releases[stored.release] = {*manifest, store.archive_path(stored.release)};
    checks.push_back(fmt::format("artifact {} as {} runs it (snapshot {}), no build",
                                 stored.release.substr(0, 12), stored.environment,
                                 stored.snapshot));
    if (request.check_branches) {
      checks.push_back(fmt::format("commit {} is on a branch {} allows", ref.commit.substr(0, 12),
                                   policy->name));
    }
  } else if (rules_of(request.kind).brings_new_build) {
    auto built =
        build_artifact(project, unit, policy, {request.ref, false, std::chrono::minutes(30)},
                       context.git, reporter);
    if (!built) return tl::unexpected(built.error());
    auto read = store.manifest(built->id);
    if (!read) return tl::unexpected(read.error());
    manifest = std::move(*read);
    ref = built->ref;
    out.sources.releases[built->id] = {*manifest, built->archive_path};
    checks.push_back(fmt::format("ref {} ({}) allowed in {}", ref.given, ref.commit.substr(0, 12),
                                 policy->name));
  }
  if (request.stored) {
    if (!request.stored->config.empty()) {
      auto bundle = load_config(project, request.stored->config);
      if (!bundle) return tl::unexpected(bundle.error());
      config = std::move(*bundle);
    }
  } else if (rules_of(request.kind).reads_unit_config) {
    auto bundle = unit_config(project, unit);
    if (!bundle) return tl::unexpected(bundle.error());
    config = std::move(*bundle);
  }

  // One read of every host: what it runs and keeps, which of the new
  // release's files it lacks, and its copy of the history.
  auto reading = survey_and_sync(context, *fleet, ledger, manifest ? &*manifest : nullptr);
  if (!reading) return tl::unexpected(reading.error());
  for (auto& s : reading->ledger) {
    out.highest_snapshot = std::max(out.highest_snapshot, s.id);
    if (s.unit == unit.name) out.history.push_back(std::move(s));
  }

  std::optional<HostTarget> new_build;
  if (manifest) {
    new_build = HostTarget{manifest->id, config ? config->digest : "", secrets_digest, ref.commit,
                           ref.branch.value_or("")};
  }
  auto destination =
      destination_of(request, out.history, new_build, config ? config->digest : "", secrets_digest);
  if (!destination) return tl::unexpected(destination.error());
  checks.insert(checks.end(), destination->checks.begin(), destination->checks.end());
  if (config) out.sources.configs[config->digest] = *config;

  // A release some host pruned comes back from the local artifact store.
  auto manifest_of = [&store, &out](const std::string& release) {
    auto m = store.manifest(release);
    if (m) out.sources.releases[release] = {*m, store.archive_path(release)};
    return m;
  };
  out.plan = make_plan(request.kind, unit, env, manifest ? &*manifest : nullptr, fleet->plan_hosts,
                       reading->surveys, *fleet->transport, destination->target_of, manifest_of);
  out.plan.ref = ref;
  if (project.artifacts) {
    out.plan.bytes_from = project.artifacts->url + "/" + project.artifacts->repository;
  }
  out.plan.restores = destination->restores;
  for (auto& h : out.plan.hosts) {
    if (auto it = destination->backups.find(h.host); it != destination->backups.end() && h.change)
      h.restore_backup = it->second;
  }
  if (config) out.plan.config = config->digest;
  out.plan.secrets = secrets_digest;
  out.plan.checks.insert(out.plan.checks.begin(), checks.begin(), checks.end());

  // Config versions a rollback must re-send, kept by this controller.
  for (auto& h : out.plan.hosts) {
    if (h.error) continue;
    if (h.send_config && !out.sources.configs.count(h.target.config)) {
      auto c = load_config(project, h.target.config);
      if (!c) {
        h.error = c.error();
        continue;
      }
      out.sources.configs[h.target.config] = std::move(*c);
    }
  }
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
