#include "cli/prepared_deploy.hpp"

#include <fmt/format.h>

#include "playbooks/branch_policy.hpp"

namespace flotilla {
namespace {

std::string short_id(const std::optional<std::string>& id) { return id ? id->substr(0, 12) : "-"; }

}  // namespace

void print_plan(Reporter& reporter, const DeployPlan& plan, const Unit& unit) {
  const auto& ref = plan.ref;
  reporter.text(reporter.paint(
      fmt::format("plan: {} {} ({} @ {}) to {}", plan.unit, plan.artifact.substr(0, 12),
                  ref.branch.value_or(ref.tag.value_or(ref.given)), ref.commit.substr(0, 12),
                  plan.environment),
      Reporter::Color::kBold));
  reporter.text(fmt::format("  {:<16} {:<14} {:<14} {}", "HOST", "CURRENT", "TARGET", "SEND"));
  for (const auto& h : plan.hosts) {
    std::string send =
        h.error    ? reporter.paint("UNREACHABLE: " + h.error->message, Reporter::Color::kRed)
        : h.change ? fmt::format("{} files, {}", h.files_to_send, format_bytes(h.bytes_to_send))
                   : std::string("nothing (already running it)");
    reporter.text(fmt::format("  {:<16} {:<14} {:<14} {}", h.host, short_id(h.current),
                              plan.artifact.substr(0, 12), send));
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

Result<PreparedDeploy> prepare_deploy(const GlobalOptions& options, const std::string& unit_name,
                                      const std::string& ref, const std::string& ticket,
                                      Reporter& reporter) {
  PreparedDeploy out;
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  out.targets = std::move(*targets);
  auto unit = find_unit(out.targets, unit_name);
  if (!unit) return tl::unexpected(unit.error());
  out.unit = *unit;
  if (auto narrowed = narrow_to_unit(out.targets, *out.unit); !narrowed) {
    return tl::unexpected(narrowed.error());
  }
  const Project& project = *out.targets.project;
  const Environment& env = *out.targets.environment;
  if (auto ok = check_ticket(project, env, *out.unit, ticket); !ok)
    return tl::unexpected(ok.error());

  GitAccess access = git_access(options, &project);
  auto built = build_artifact(project, *out.unit, &env, {ref, false, std::chrono::minutes(30)},
                              access, reporter);
  if (!built) return tl::unexpected(built.error());
  out.built = std::move(*built);
  auto manifest = artifact_store(project).manifest(out.built.id);
  if (!manifest) return tl::unexpected(manifest.error());
  out.manifest = std::move(*manifest);

  std::vector<PlanTarget> plan_hosts;
  const Inventory& inventory = out.targets.inventory.inventory;
  for (std::size_t i = 0; i < out.targets.hosts.size(); ++i) {
    std::size_t h = out.targets.hosts[i];
    nlohmann::json vars = inventory.resolved_vars(h);
    std::optional<std::string> pair;
    if (auto it = vars.find(out.unit->rollout.pair_key); it != vars.end() && !it->is_null()) {
      pair = it->is_string() ? it->get<std::string>() : it->dump();
    }
    const std::string& name = inventory.hosts()[h].name;
    plan_hosts.push_back({name, pair});
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
  out.plan = make_deploy_plan(*out.unit, env, out.manifest, out.built.ref, plan_hosts,
                              out.connection->transport());
  for (const auto& h : out.plan.hosts) out.hosts[h.host].previous_state = h.state;
  return out;
}

}  // namespace flotilla
