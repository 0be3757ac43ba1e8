// The commands that change a fleet — `deploy`, `promote`, `rehearse`,
// `hotfix`, `rollback`, `restore`, `config push` — are options plus two calls:
// release_for (cli/release_sources.hpp) turns them into unit changes in
// order, run_release (playbooks/change/change_workflow.hpp) does the rest.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/release_sources.hpp"
#include "cli/targets.hpp"
#include "playbooks/change/change_workflow.hpp"

namespace flotilla {
namespace {

struct ChangeOptions {
  ReleaseSpec spec;
  std::string lock_wait = "0s";
  long to = 0;       // rollback --to; 0: the previous good snapshot
  long release = 0;  // rollback --release
};

Result<Outcome> run_change_command(const GlobalOptions& options, const ChangeOptions& change,
                                   Reporter& reporter) {
  ReleaseSpec spec = change.spec;
  if (change.to > 0) spec.to = change.to;
  if (change.release > 0) spec.release = change.release;
  auto wait = parse_duration(change.lock_wait);
  if (!wait) return fail(ErrorKind::kBadInput, "--lock-wait: expected a duration like 30s or 10m");
  spec.base.lock_wait = *wait;
  if (spec.kind == ChangeKind::kRollback) {
    if (spec.release && (!spec.units.empty() || spec.to)) {
      return fail(ErrorKind::kBadInput, "rollback --release ID takes no unit and no --to");
    }
    if (!spec.release && spec.units.size() != 1) {
      return fail(ErrorKind::kBadInput, "rollback: name one unit, or give --release ID");
    }
  }
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  auto release = release_for(options, *targets, spec, reporter);
  if (!release) return tl::unexpected(release.error());
  return run_release(change_context(options, *targets, reporter), *release);
}

// What every change command shares: --lock-wait, and running the change
// once parsing succeeds.
std::shared_ptr<ChangeOptions> change_subcommand(CLI::App* cmd, ChangeKind kind,
                                                 const GlobalOptions& options, Reporter*& reporter,
                                                 CommandAction& action) {
  auto change = std::make_shared<ChangeOptions>();
  change->spec.kind = kind;
  cmd->add_option("--lock-wait", change->lock_wait,
                  "Wait this long for the deploy lock (CI queues); default: exit 3 at once");
  cmd->callback([&options, &reporter, &action, change] {
    action = [&options, &reporter, change] {
      return run_change_command(options, *change, *reporter);
    };
  });
  return change;
}

void add_units(CLI::App* cmd, ChangeOptions& change) {
  cmd->add_option("units", change.spec.units, "Units, in the order they are released");
  cmd->add_flag("--all", change.spec.all,
                "Every unit, in the project's release_order (else the file's order)");
}

void add_ticket(CLI::App* cmd, ChangeOptions& change) {
  cmd->add_option("--ticket", change.spec.base.ticket,
                  "Change ticket (required where the environment says so)");
}

void add_override_freeze(CLI::App* cmd, ChangeOptions& change) {
  cmd->add_option("--override-freeze", change.spec.base.override_freeze,
                  "Change inside a freeze window; the reason is recorded in the snapshot");
}

}  // namespace

void add_deploy_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                        CommandAction& action) {
  auto* deploy = app.add_subcommand(
      "deploy", "Build (or reuse) and roll out one unit, or several as one release; snapshotted");
  auto change = change_subcommand(deploy, ChangeKind::kDeploy, options, reporter, action);
  add_units(deploy, *change);
  deploy->add_option("--ref", change->spec.ref, "Branch, tag or commit id")->required();
  add_ticket(deploy, *change);
  add_override_freeze(deploy, *change);

  auto* hotfix = app.add_subcommand(
      "hotfix", "On-call path: deploy 'stable' or 'master' (ticket required) to --limit hosts");
  change = change_subcommand(hotfix, ChangeKind::kHotfix, options, reporter, action);
  hotfix->add_option("unit", change->spec.units, "Unit name")->required()->expected(1);
  hotfix->add_option("--ref", change->spec.ref, "stable or master")->required();
  hotfix->add_option("--ticket", change->spec.base.ticket, "Change ticket")->required();

  auto* promote = app.add_subcommand(
      "promote", "Deploy exactly what another environment runs (same artifacts, no build)");
  change = change_subcommand(promote, ChangeKind::kDeploy, options, reporter, action);
  add_units(promote, *change);
  promote->add_option("--from", change->spec.from, "The environment whose artifacts to deploy")
      ->required();
  add_ticket(promote, *change);
  add_override_freeze(promote, *change);

  auto* rehearse = app.add_subcommand(
      "rehearse", "Reset this environment to what --like runs, then apply the change it would get");
  change = change_subcommand(rehearse, ChangeKind::kRehearsal, options, reporter, action);
  add_units(rehearse, *change);
  rehearse->add_option("--like", change->spec.like, "The environment being rehearsed (e.g. prod)")
      ->required();
  auto* ref = rehearse->add_option("--ref", change->spec.ref,
                                   "Build this ref under --like's branch policy");
  auto* from = rehearse->add_option("--from", change->spec.from,
                                    "Or take the artifacts this environment runs");
  ref->excludes(from);
  from->excludes(ref);
  rehearse->callback([&options, &reporter, &action, change, ref, from] {
    action = [&options, &reporter, change, ref, from]() -> Result<Outcome> {
      if (ref->count() + from->count() != 1) {
        return fail(ErrorKind::kBadInput, "rehearse: give --ref REF or --from ENV");
      }
      return run_change_command(options, *change, *reporter);
    };
  });
  add_ticket(rehearse, *change);
  add_override_freeze(rehearse, *change);
}

void add_rollback_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                          CommandAction& action) {
  auto* cmd = app.add_subcommand(
      "rollback",
      "Back to the previous good snapshot (or --to one, or before --release ID); no rebuild");
  auto change = change_subcommand(cmd, ChangeKind::kRollback, options, reporter, action);
  cmd->add_option("unit", change->spec.units, "Unit name")->expected(0, 1);
  cmd->add_option("--to", change->to, "Snapshot id (see `flotilla snapshots list`)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--release", change->release,
                  "Every unit of this release back where it stood before it, in reverse order")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--ticket", change->spec.base.ticket,
                  "Change ticket, for the record (never required)");
}

void add_restore_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                         CommandAction& action) {
  auto* cmd = app.add_subcommand(
      "restore",
      "Bring back the data a snapshot's backup holds: stop, restore, start, health; snapshotted");
  auto change = change_subcommand(cmd, ChangeKind::kRestore, options, reporter, action);
  cmd->add_option("unit", change->spec.units, "Unit name")->required()->expected(1);
  cmd->add_option("--snapshot", change->to,
                  "The snapshot whose backup to restore (see `flotilla backups list UNIT`)")
      ->required()
      ->check(CLI::PositiveNumber);
  add_ticket(cmd, *change);
}

void add_config_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                        CommandAction& action) {
  auto* config = app.add_subcommand("config", "A unit's config and data files");
  config->require_subcommand(1);
  auto* cmd = config->add_subcommand(
      "push", "Push config/data files into shared/config, reload without restart; snapshotted");
  auto change = change_subcommand(cmd, ChangeKind::kConfig, options, reporter, action);
  cmd->add_option("unit", change->spec.units, "Unit name")->required()->expected(1);
  add_ticket(cmd, *change);
  add_override_freeze(cmd, *change);
}

}  // namespace flotilla
