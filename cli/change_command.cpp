// The commands that change a fleet — `deploy`, `hotfix`, `rollback`,
// `config push` — are options plus one call: run_change
// (playbooks/change/change_workflow.hpp) does the rest.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"
#include "playbooks/change/change_workflow.hpp"

namespace flotilla {
namespace {

struct ChangeOptions {
  ChangeRequest request;
  std::string lock_wait = "0s";
  long to = 0;  // rollback --to; 0: the previous good snapshot
};

Result<Outcome> run_change_command(const GlobalOptions& options, const ChangeOptions& change,
                                   Reporter& reporter) {
  ChangeRequest request = change.request;
  if (change.to > 0) request.to = change.to;
  auto wait = parse_duration(change.lock_wait);
  if (!wait) return fail(ErrorKind::kBadInput, "--lock-wait: expected a duration like 30s or 10m");
  request.lock_wait = *wait;
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  return run_change(change_context(options, *targets, reporter), request);
}

// What every change command shares: the unit argument, --lock-wait, and
// running the change once parsing succeeds.
std::shared_ptr<ChangeOptions> change_subcommand(CLI::App* cmd, ChangeKind kind,
                                                 const GlobalOptions& options, Reporter*& reporter,
                                                 CommandAction& action) {
  auto change = std::make_shared<ChangeOptions>();
  change->request.kind = kind;
  cmd->add_option("unit", change->request.unit, "Unit name")->required();
  cmd->add_option("--lock-wait", change->lock_wait,
                  "Wait this long for the deploy lock (CI queues); default: exit 3 at once");
  cmd->callback([&options, &reporter, &action, change] {
    action = [&options, &reporter, change] {
      return run_change_command(options, *change, *reporter);
    };
  });
  return change;
}

}  // namespace

void add_deploy_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                        CommandAction& action) {
  for (ChangeKind kind : {ChangeKind::kDeploy, ChangeKind::kHotfix}) {
    bool hotfix = kind == ChangeKind::kHotfix;
    auto* cmd = app.add_subcommand(
        std::string(change_kind_name(kind)),
        hotfix ? "On-call path: deploy 'stable' or 'master' (ticket required) to --limit hosts"
               : "Build (or reuse) and roll out in safe batches; records a snapshot");
    auto change = change_subcommand(cmd, kind, options, reporter, action);
    cmd->add_option("--ref", change->request.ref,
                    hotfix ? "stable or master" : "Branch, tag or commit id")
        ->required();
    auto* ticket = cmd->add_option("--ticket", change->request.ticket,
                                   "Change ticket (required where the environment says so)");
    if (hotfix) {
      ticket->required();
    } else {
      cmd->add_option("--override-freeze", change->request.override_freeze,
                      "Deploy inside a freeze window; the reason is recorded in the snapshot");
    }
  }
}

void add_rollback_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                          CommandAction& action) {
  auto* cmd = app.add_subcommand(
      "rollback", "Back to the previous good snapshot (or --to one) without rebuilding");
  auto change = change_subcommand(cmd, ChangeKind::kRollback, options, reporter, action);
  cmd->add_option("--to", change->to, "Snapshot id (see `flotilla snapshots list`)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--ticket", change->request.ticket,
                  "Change ticket, for the record (never required)");
}

void add_config_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                        CommandAction& action) {
  auto* config = app.add_subcommand("config", "A unit's config and data files");
  config->require_subcommand(1);
  auto* cmd = config->add_subcommand(
      "push", "Push config/data files into shared/config, reload without restart; snapshotted");
  auto change = change_subcommand(cmd, ChangeKind::kConfig, options, reporter, action);
  cmd->add_option("--ticket", change->request.ticket,
                  "Change ticket (required where the environment says so)");
}

}  // namespace flotilla
