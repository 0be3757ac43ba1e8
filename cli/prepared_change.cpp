#include "cli/prepared_change.hpp"

#include <fmt/format.h>

#include "playbooks/artifact_build.hpp"
#include "playbooks/branch_policy.hpp"
#include "playbooks/config_bundle.hpp"
#include "playbooks/secret_bundle.hpp"
#include "snapshots/fleet_history.hpp"

namespace flotilla {
namespace {

std::string short_id(const std::string& id) { return id.empty() ? "-" : id.substr(0, 12); }

// Hotfixes come from the branches on-call may ship at 3 a.m., with a ticket.
Result<void> check_hotfix(const ChangeRequest& request) {
  if (request.ref != "stable" && request.ref != "master") {
    return fail(ErrorKind::kBadInput,
                fmt::format("hotfix: --ref must be the 'stable' or 'master' branch, not '{}'",
                            request.ref));
  }
  if (request.ticket.empty()) return fail(ErrorKind::kBadInput, "hotfix: --ticket is required");
  return {};
}

// The unit's config files, kept locally for rollbacks; nullopt if it has none.
Result<std::optional<ConfigBundle>> unit_config(const Project& project, const Unit& unit) {
  if (unit.config_files.empty()) return std::optional<ConfigBundle>();
  auto bundle = read_config_files(project, unit);
  if (!bundle) return tl::unexpected(bundle.error());
  if (auto saved = save_config(project, *bundle); !saved) return tl::unexpected(saved.error());
  return std::optional<ConfigBundle>(std::move(*bundle));
}

}  // namespace

Ledger ledger_of(const Targets& targets) {
  return Ledger(targets.project->state_dir, targets.environment->name);
}

Result<UnitFleet> connect_unit(const GlobalOptions& options, const std::string& unit_name,
                               Reporter& reporter) {
  UnitFleet out;
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  out.targets = std::move(*targets);
  auto unit = find_unit(out.targets, unit_name);
  if (!unit) return tl::unexpected(unit.error());
  out.unit = *unit;
  if (auto narrowed = narrow_to_unit(out.targets, *out.unit); !narrowed) {
    return tl::unexpected(narrowed.error());
  }
  const Inventory& inventory = out.targets.inventory.inventory;
  for (std::size_t i = 0; i < out.targets.hosts.size(); ++i) {
    std::size_t h = out.targets.hosts[i];
    nlohmann::json vars = inventory.resolved_vars(h);
    std::optional<std::string> pair;
    if (auto it = vars.find(out.unit->rollout.pair_key); it != vars.end() && !it->is_null()) {
      pair = it->is_string() ? it->get<std::string>() : it->dump();
    }
    const std::string& name = inventory.hosts()[h].name;
    out.plan_hosts.push_back({name, pair});
    RolloutHost host;
    host.index = i;
    for (auto& [k, v] : vars.items())
      host.vars[k] = v.is_string() ? v.get<std::string>() : v.dump();
    host.vars["host"] = name;
    host.vars.try_emplace("ansible_host", name);
    host.vars["deploy_to"] = out.unit->deploy_to;
    out.hosts[name] = std::move(host);
  }
  auto connection = FleetConnection::open(options, out.targets, reporter);
  if (!connection) return tl::unexpected(connection.error());
  out.connection = std::move(*connection);
  return out;
}

Result<FleetReading> survey_and_sync(UnitFleet& fleet, const Ledger& ledger, Reporter& reporter,
                                     const Manifest* manifest) {
  std::vector<std::size_t> all(fleet.plan_hosts.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  FleetReading reading;
  reading.surveys =
      survey_hosts(fleet.connection->transport(), all, HostLayout{fleet.unit->deploy_to},
                   manifest != nullptr ? manifest_files(*manifest) : std::set<std::string>());
  std::vector<Snapshot> copies;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& survey = reading.surveys[i];
    if (!survey) {
      reporter.warning(fmt::format("{}: {}", fleet.plan_hosts[i].name, survey.error().message));
      continue;
    }
    for (const auto& snapshot : survey->state.history) {
      if (snapshot.environment == fleet.targets.environment->name) copies.push_back(snapshot);
    }
  }
  auto merged = ledger.merge(copies);
  if (!merged) return tl::unexpected(merged.error());
  reading.ledger = std::move(*merged);
  return reading;
}

Result<PreparedChange> prepare_change(const GlobalOptions& options, const ChangeRequest& request,
                                      Reporter& reporter) {
  auto fleet = connect_unit(options, request.unit, reporter);
  if (!fleet) return tl::unexpected(fleet.error());
  PreparedChange out;
  out.unit = fleet->unit;
  const Project& project = *fleet->targets.project;
  const Environment& env = *fleet->targets.environment;
  const Unit& unit = *out.unit;
  Ledger ledger = ledger_of(fleet->targets);

  if (request.kind == "hotfix") {
    if (auto ok = check_hotfix(request); !ok) return tl::unexpected(ok.error());
  }
  if (request.kind != "rollback") {
    if (auto ok = check_ticket(project, env, unit, request.ticket); !ok)
      return tl::unexpected(ok.error());
  }
  if (request.kind == "config" && unit.config_files.empty() && unit.secrets.empty()) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{}: unit '{}' declares no config files (config: {{files: [...]}}) "
                            "and no secrets",
                            project.path, unit.name));
  }

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
  if (request.kind == "deploy" || request.kind == "hotfix") {
    GitAccess access = git_access(options, &project);
    auto built = build_artifact(project, unit, &env, {request.ref, false, std::chrono::minutes(30)},
                                access, reporter);
    if (!built) return tl::unexpected(built.error());
    auto read = store.manifest(built->id);
    if (!read) return tl::unexpected(read.error());
    manifest = std::move(*read);
    ref = built->ref;
    out.sources.releases[built->id] = {*manifest, built->archive_path};
    checks.push_back(
        fmt::format("ref {} ({}) allowed in {}", ref.given, ref.commit.substr(0, 12), env.name));
  }
  if (request.kind != "rollback") {
    auto bundle = unit_config(project, unit);
    if (!bundle) return tl::unexpected(bundle.error());
    config = std::move(*bundle);
  }

  // One read of every host: what it runs and keeps, which of the new
  // release's files it lacks, and its copy of the history.
  auto reading = survey_and_sync(*fleet, ledger, reporter, manifest ? &*manifest : nullptr);
  if (!reading) return tl::unexpected(reading.error());
  for (auto& s : reading->ledger) {
    out.highest_snapshot = std::max(out.highest_snapshot, s.id);
    if (s.unit == unit.name) out.history.push_back(std::move(s));
  }

  TargetOf target_of;
  std::optional<long> restores;
  if (request.kind == "deploy" || request.kind == "hotfix") {
    HostTarget target{manifest->id, config ? config->digest : "", secrets_digest, ref.commit,
                      ref.branch.value_or("")};
    target_of = [target](const std::string&, const HostState&) {
      return std::optional<HostTarget>(target);
    };
  } else if (request.kind == "config") {
    std::string digest = config ? config->digest : "";
    target_of = [digest, secrets_digest](const std::string&,
                                         const HostState& state) -> std::optional<HostTarget> {
      if (!state.release) return std::nullopt;  // nothing runs there to read it
      return HostTarget{*state.release, digest, secrets_digest, state.commit, state.branch};
    };
  } else {
    auto target = rollback_target(out.history, request.to);
    if (!target) return tl::unexpected(target.error());
    restores = (*target)->id;
    auto positions = fleet_at(out.history, (*target)->id);
    target_of = [positions, secrets_digest](const std::string& host,
                                            const HostState&) -> std::optional<HostTarget> {
      auto it = positions.find(host);
      if (it == positions.end()) return std::nullopt;  // not part of the fleet back then
      const HostPosition& p = it->second;
      return HostTarget{p.release, p.config, secrets_digest, p.commit, p.branch};
    };
    checks.push_back(fmt::format("returns to snapshot {} ({} of {}, {})", (*target)->id,
                                 (*target)->kind, (*target)->started, (*target)->outcome));
  }
  if (config) out.sources.configs[config->digest] = *config;

  // A release some host pruned comes back from the local artifact store.
  auto manifest_of = [&store, &out](const std::string& release) {
    auto m = store.manifest(release);
    if (m) out.sources.releases[release] = {*m, store.archive_path(release)};
    return m;
  };
  out.plan = make_plan(request.kind, unit, env, manifest ? &*manifest : nullptr, fleet->plan_hosts,
                       reading->surveys, fleet->connection->transport(), target_of, manifest_of);
  out.plan.ref = ref;
  out.plan.restores = restores;
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
  for (const auto& h : out.plan.hosts) fleet->hosts[h.host].previous_state = h.state;
  out.hosts = std::move(fleet->hosts);
  out.connection = std::move(fleet->connection);
  out.targets = std::move(fleet->targets);  // moving keeps `out.unit` valid: same storage
  return out;
}

void print_plan(Reporter& reporter, const DeployPlan& plan, const Unit& unit) {
  const auto& ref = plan.ref;
  std::string what =
      plan.kind == "rollback"
          ? fmt::format("rollback {} to snapshot {}", plan.unit, plan.restores.value_or(0))
      : plan.kind == "config"
          ? fmt::format("config push {} {}", plan.unit, short_id(plan.config))
          : fmt::format("{} {} {} ({} @ {})", plan.kind, plan.unit, short_id(plan.artifact),
                        ref.branch.value_or(ref.tag.value_or(ref.given)), ref.commit.substr(0, 12));
  reporter.text(reporter.paint(fmt::format("plan: {} in {}", what, plan.environment),
                               Reporter::Color::kBold));
  reporter.text(fmt::format("  {:<16} {:<14} {:<14} {}", "HOST", "CURRENT", "TARGET", "ACTION"));
  for (const auto& h : plan.hosts) {
    std::string action =
        h.error     ? reporter.paint("FAILED: " + h.error->message, Reporter::Color::kRed)
        : !h.change ? std::string("nothing (already running it)")
        : h.restart
            ? fmt::format("restart; send {} files, {}{}", h.files_to_send,
                          format_bytes(h.bytes_to_send), h.send_secrets ? "; new secrets" : "")
        : !h.target.config.empty() && h.target.config != h.current_config
            ? fmt::format("reload config {}{}", short_id(h.target.config),
                          h.send_secrets ? " and new secrets" : "")
            : std::string("reload with new secrets");
    reporter.text(fmt::format("  {:<16} {:<14} {:<14} {}", h.host, short_id(h.current.value_or("")),
                              short_id(h.target.release), action));
  }
  reporter.text(
      fmt::format("batches (canary {}, max_unavailable {}{}, pairs by '{}'):", unit.rollout.canary,
                  unit.rollout.max_unavailable.value,
                  unit.rollout.max_unavailable.percent ? "%" : "", unit.rollout.pair_key));
  if (plan.batches.empty()) reporter.text("  none: every host already runs this release");
  for (std::size_t i = 0; i < plan.batches.size(); ++i) {
    const auto& b = plan.batches[i];
    reporter.text(fmt::format("  {:>2} {:<9} {}", i + 1, b.canary ? "(canary)" : "",
                              fmt::join(b.hosts, " ")));
  }
  reporter.text(fmt::format("to send: {} in all", format_bytes(plan.bytes_to_send)));
  for (const auto& check : plan.checks) {
    reporter.text(fmt::format("  {} {}", reporter.paint("ok", Reporter::Color::kGreen), check));
  }
}

int plan_exit_code(const DeployPlan& plan) {
  if (plan.complete()) return 0;
  for (const auto& h : plan.hosts) {
    if (h.error && h.error->kind == ErrorKind::kUnreachable) return 4;
  }
  return 1;
}

}  // namespace flotilla
