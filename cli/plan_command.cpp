// `flotilla plan UNIT --ref REF`: what a deploy would do — hosts, current →
// target release, batches in order, bytes to send, policy checks. It reads
// the hosts and builds (or reuses) the artifact; it changes no host.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"
#include "inventory/host_address.hpp"
#include "playbooks/artifact_build.hpp"
#include "playbooks/branch_policy.hpp"
#include "playbooks/deploy_plan.hpp"

namespace flotilla {
namespace {

struct PlanOptions {
  std::string unit;
  std::string ref;
  std::string ticket;
};

std::string short_id(const std::optional<std::string>& id) { return id ? id->substr(0, 12) : "-"; }

std::string human_bytes(std::uint64_t bytes) {
  if (bytes >= (1u << 20)) return fmt::format("{:.1f} MB", static_cast<double>(bytes) / (1 << 20));
  if (bytes >= 1024) return fmt::format("{:.1f} kB", static_cast<double>(bytes) / 1024);
  return fmt::format("{} B", bytes);
}

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
        : h.change ? fmt::format("{} files, {}", h.files_to_send, human_bytes(h.bytes_to_send))
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
  reporter.text(fmt::format("to send: {} in all", human_bytes(plan.bytes_to_send)));
  for (const auto& check : plan.checks) {
    reporter.text(fmt::format("  {} {}", reporter.paint("ok", Reporter::Color::kGreen), check));
  }
}

Result<int> run_plan(const GlobalOptions& options, const PlanOptions& plan_options,
                     Reporter& reporter) {
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  auto unit = find_unit(*targets, plan_options.unit);
  if (!unit) return tl::unexpected(unit.error());
  if (auto narrowed = narrow_to_unit(*targets, **unit); !narrowed)
    return tl::unexpected(narrowed.error());
  const Project& project = *targets->project;
  const Environment& env = *targets->environment;
  if (auto ticket = check_ticket(project, env, **unit, plan_options.ticket); !ticket) {
    return tl::unexpected(ticket.error());
  }

  SshDefaults defaults = SshDefaults::from_environment();
  GitAccess access{known_hosts_files(options, *targets), defaults.identity_files, defaults.user};
  auto built = build_artifact(
      project, **unit, &env, {plan_options.ref, false, std::chrono::minutes(30)}, access, reporter);
  if (!built) return tl::unexpected(built.error());
  auto manifest = artifact_store(project).manifest(built->id);
  if (!manifest) return tl::unexpected(manifest.error());

  std::vector<PlanTarget> hosts;
  const Inventory& inventory = targets->inventory.inventory;
  for (std::size_t h : targets->hosts) {
    nlohmann::json vars = inventory.resolved_vars(h);
    std::optional<std::string> pair;
    if (auto it = vars.find((*unit)->rollout.pair_key); it != vars.end() && !it->is_null()) {
      pair = it->is_string() ? it->get<std::string>() : it->dump();
    }
    hosts.push_back({inventory.hosts()[h].name, pair});
  }
  auto connection = FleetConnection::open(options, *targets, reporter);
  if (!connection) return tl::unexpected(connection.error());
  DeployPlan plan =
      make_deploy_plan(**unit, env, *manifest, built->ref, hosts, (*connection)->transport());

  if (reporter.json()) {
    reporter.document(plan.to_json());
  } else {
    print_plan(reporter, plan, **unit);
  }
  if (!plan.complete()) {
    bool unreachable = false;
    for (const auto& h : plan.hosts)
      unreachable = unreachable || (h.error && h.error->kind == ErrorKind::kUnreachable);
    return unreachable ? 4 : 1;
  }
  return 0;
}

}  // namespace

void add_plan_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                      CommandAction& action) {
  auto plan = std::make_shared<PlanOptions>();
  auto* cmd = app.add_subcommand(
      "plan", "What a deploy would do: hosts, current -> target, batches, bytes; changes nothing");
  cmd->add_option("unit", plan->unit, "Unit name")->required();
  cmd->add_option("--ref", plan->ref, "Branch, tag or commit id")->required();
  cmd->add_option("--ticket", plan->ticket,
                  "Change ticket (required where the environment says so)");
  cmd->callback([&options, &reporter, &action, plan] {
    action = [&options, &reporter, plan] { return run_plan(options, *plan, *reporter); };
  });
}

}  // namespace flotilla
