// `flotilla plan UNIT --ref REF`: what a deploy would do — hosts, current →
// target release, batches in order, bytes to send, policy checks. It reads
// the hosts and builds (or reuses) the artifact; it changes no host.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/prepared_change.hpp"

namespace flotilla {
namespace {

struct PlanOptions {
  std::string unit;
  std::string ref;
  std::string ticket;
};

Result<int> run_plan(const GlobalOptions& options, const PlanOptions& plan_options,
                     Reporter& reporter) {
  ChangeRequest request;
  request.unit = plan_options.unit;
  request.ref = plan_options.ref;
  request.ticket = plan_options.ticket;
  auto prepared = prepare_change(options, request, reporter);
  if (!prepared) return tl::unexpected(prepared.error());
  if (reporter.json()) {
    reporter.document(prepared->plan.to_json());
  } else {
    print_plan(reporter, prepared->plan, *prepared->unit);
  }
  return plan_exit_code(prepared->plan);
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
