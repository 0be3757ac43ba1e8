// `flotilla deploy UNIT --ref REF`: build (or reuse), plan from the live
// hosts, print the plan, then execute exactly that plan.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/lock_host.hpp"
#include "cli/prepared_deploy.hpp"

namespace flotilla {
namespace {

struct DeployOptions {
  std::string unit;
  std::string ref;
  std::string ticket;
  std::string lock_wait = "0s";
};

Result<int> deploy_locked(const GlobalOptions& options, const DeployOptions& deploy,
                          Reporter& reporter);

// Takes the environment's lock first (so the plan is made under it), and
// releases it whatever happens next.
Result<int> run_deploy(const GlobalOptions& options, const DeployOptions& deploy,
                       Reporter& reporter) {
  auto wait = parse_duration(deploy.lock_wait);
  if (!wait) return fail(ErrorKind::kBadInput, "--lock-wait: expected a duration like 30s or 10m");
  auto lock = open_deploy_lock(options, reporter);
  if (!lock) return tl::unexpected(lock.error());
  auto holder = lock->lock.acquire(
      deploy.ticket, fmt::format("deploy {} --ref {}", deploy.unit, deploy.ref), *wait);
  if (!holder) return tl::unexpected(holder.error());
  reporter.event("lock_acquired", {{"environment", lock->environment}});
  auto result = deploy_locked(options, deploy, reporter);
  if (auto released = lock->lock.release(holder->token, false); !released) {
    reporter.error(fmt::format("could not release the deploy lock: {}", released.error().message));
  }
  return result;
}

Result<int> deploy_locked(const GlobalOptions& options, const DeployOptions& deploy,
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
  cmd->add_option("--lock-wait", deploy->lock_wait,
                  "Wait this long for the deploy lock (CI queues); default: exit 3 at once");
  cmd->callback([&options, &reporter, &action, deploy] {
    action = [&options, &reporter, deploy] { return run_deploy(options, *deploy, *reporter); };
  });
}

}  // namespace flotilla
