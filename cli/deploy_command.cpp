// `flotilla deploy UNIT --ref REF`: build (or reuse), plan from the live
// hosts, print the plan, then execute exactly that plan.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/prepared_deploy.hpp"

namespace flotilla {
namespace {

struct DeployOptions {
  std::string unit;
  std::string ref;
  std::string ticket;
};

Result<int> run_deploy(const GlobalOptions& options, const DeployOptions& deploy,
                       Reporter& reporter) {
  auto prepared = prepare_deploy(options, deploy.unit, deploy.ref, deploy.ticket, reporter);
  if (!prepared) return tl::unexpected(prepared.error());
  const DeployPlan& plan = prepared->plan;
  if (reporter.json()) {
    reporter.event("plan", plan.to_json());
  } else {
    print_plan(reporter, plan, *prepared->unit);
  }
  if (!plan.complete()) {
    reporter.error("not every host answered; nothing was changed");
    return plan_exit_code(plan);
  }
  RolloutResult result = execute_rollout(
      plan, *prepared->unit, prepared->manifest, prepared->built.archive_path, prepared->hosts,
      prepared->connection->transport(), reporter, [] { return FleetConnection::interrupted(); });
  for (const auto& h : result.hosts) {
    Reporter::Color color = h.state == HostOutcome::State::kFailed       ? Reporter::Color::kRed
                            : h.state == HostOutcome::State::kRolledBack ? Reporter::Color::kYellow
                                                                         : Reporter::Color::kGreen;
    reporter.text(fmt::format("  {:<16} {}{}", h.host, reporter.paint(outcome_name(h.state), color),
                              h.detail.empty() ? "" : ": " + h.detail));
  }
  if (result.ok) {
    reporter.text(reporter.paint("deployed: ", Reporter::Color::kGreen) + result.summary);
    return 0;
  }
  reporter.error(result.summary);
  return 1;
}

}  // namespace

void add_deploy_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                        CommandAction& action) {
  auto deploy = std::make_shared<DeployOptions>();
  auto* cmd = app.add_subcommand("deploy", "Build (or reuse) and roll out in safe batches");
  cmd->add_option("unit", deploy->unit, "Unit name")->required();
  cmd->add_option("--ref", deploy->ref, "Branch, tag or commit id")->required();
  cmd->add_option("--ticket", deploy->ticket,
                  "Change ticket (required where the environment says so)");
  cmd->callback([&options, &reporter, &action, deploy] {
    action = [&options, &reporter, deploy] { return run_deploy(options, *deploy, *reporter); };
  });
}

}  // namespace flotilla
