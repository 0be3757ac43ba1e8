// `flotilla balancer ready [ENV] UNIT [-l HOSTS]`: puts the unit's servers
// back into rotation on every balancer, where an interrupted or lost change
// left them in maint or drain. Exit 1 when one does not come back UP.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"
#include "playbooks/change/balancer_ready.hpp"

namespace flotilla {
namespace {

struct BalancerReadyOptions {
  std::vector<std::string> names;  // [ENV] UNIT
  std::string lock_wait = "0s";
};

Result<Outcome> run_balancer_ready(const GlobalOptions& global, const BalancerReadyOptions& ready,
                                   Reporter& reporter) {
  GlobalOptions options = global;
  auto unit = environment_and_unit(options, ready.names, "balancer ready");
  if (!unit) return tl::unexpected(unit.error());
  auto wait = parse_duration(ready.lock_wait);
  if (!wait) return fail(ErrorKind::kBadInput, "--lock-wait: expected a duration like 30s or 5m");
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  ChangeContext context = change_context(options, *targets, reporter);
  return put_back_in_rotation(context, *unit, *wait);
}

}  // namespace

void add_balancer_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                          CommandAction& action) {
  auto ready = std::make_shared<BalancerReadyOptions>();
  auto* cmd = app.add_subcommand("balancer", "The unit's L7 switch (HAProxy)");
  cmd->require_subcommand(1);
  auto* sub = cmd->add_subcommand(
      "ready",
      "Put the unit's servers (-l: some) back into rotation on every balancer: ready, their "
      "initial weights, UP (exit 1 when one does not come back)");
  sub->add_option("names", ready->names, "[ENV] UNIT")->required()->expected(1, 2);
  sub->add_option("--lock-wait", ready->lock_wait,
                  "Wait this long for the environment's lock (default 0s)");
  on_parsed(sub, action, [&options, &reporter, ready] {
    return run_balancer_ready(options, *ready, *reporter);
  });
}

}  // namespace flotilla
