// `flotilla plan UNIT --ref REF`: what a deploy would do — hosts, current →
// target release, batches in order, bytes to send, policy checks. It reads
// the hosts and builds (or reuses) the artifact; it changes no host.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"
#include "playbooks/change/plan_report.hpp"
#include "playbooks/change/prepared_change.hpp"

namespace flotilla {
namespace {

Result<Outcome> run_plan(const GlobalOptions& options, const ChangeRequest& request,
                         Reporter& reporter) {
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  auto prepared = prepare_change(change_context(options, *targets, reporter), request);
  if (!prepared) return tl::unexpected(prepared.error());
  if (reporter.json()) {
    reporter.document(prepared->plan.to_json());
  } else {
    print_plan(reporter, prepared->plan, prepared->unit());
  }
  return plan_outcome(prepared->plan);
}

}  // namespace

void add_plan_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                      CommandAction& action) {
  auto request = std::make_shared<ChangeRequest>();
  auto* cmd = app.add_subcommand(
      "plan", "What a deploy would do: hosts, current -> target, batches, bytes; changes nothing");
  cmd->add_option("unit", request->unit, "Unit name")->required();
  cmd->add_option("--ref", request->ref, "Branch, tag or commit id")->required();
  cmd->add_option("--ticket", request->ticket,
                  "Change ticket (required where the environment says so)");
  cmd->callback([&options, &reporter, &action, request] {
    action = [&options, &reporter, request] { return run_plan(options, *request, *reporter); };
  });
}

}  // namespace flotilla
