// The commands that change a fleet — `deploy`, `promote`, `rehearse`,
// `hotfix`, `rollback`, `restore`, `config push` — are options plus two calls:
// release_for (playbooks/change/release_sources.hpp) turns them into unit changes in
// order, run_release (playbooks/change/change_workflow.hpp) does the rest.
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/release_options.hpp"
#include "cli/targets.hpp"
#include "playbooks/change/change_workflow.hpp"
#include "playbooks/change/release_sources.hpp"

namespace flotilla {
namespace {

struct ChangeOptions {
  ReleaseSpec spec;
  std::string lock_wait = "0s";
  long to = 0;       // rollback --to; 0: the previous good snapshot
  long release = 0;  // rollback --release
  bool no_wait = false;
};

Result<Outcome> run_change_command(const GlobalOptions& options, const ChangeOptions& change,
                                   Reporter& reporter) {
  ReleaseSpec spec = change.spec;
  if (change.to > 0) spec.to = change.to;
  if (change.release > 0) spec.release = change.release;
  auto wait = parse_duration(change.lock_wait);
  if (!wait) return fail(ErrorKind::kBadInput, "--lock-wait: expected a duration like 30s or 10m");
  spec.base.lock_wait = *wait;
  if (auto ok = check_release_spec(spec); !ok) return tl::unexpected(ok.error());
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  ChangeContext context = change_context(options, *targets, reporter);
  context.no_wait = change.no_wait;
  auto release = release_for(context, spec);
  if (!release) return tl::unexpected(release.error());
  return run_release(context, *release);
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
  cmd->add_flag("--no-wait", change->no_wait,
                "Return once the last batch is done: a unit's watch goes on in the background, "
                "holding the lock");
  on_parsed(cmd, action, [&options, &reporter, change] {
    return run_change_command(options, *change, *reporter);
  });
  return change;
}

}  // namespace

void add_deploy_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                        CommandAction& action) {
  auto* deploy = app.add_subcommand(
      "deploy", "Build (or reuse) and roll out one unit, or several as one release; snapshotted");
  auto change = change_subcommand(deploy, ChangeKind::kDeploy, options, reporter, action);
  add_units_option(deploy, change->spec);
  add_all_flag(deploy, change->spec);
  add_ref_option(deploy, change->spec)->required();
  add_ticket_option(deploy, change->spec);
  add_override_freeze_option(deploy, change->spec);

  auto* hotfix = app.add_subcommand(
      "hotfix", "On-call path: deploy 'stable' or 'master' (ticket required) to --limit hosts");
  change = change_subcommand(hotfix, ChangeKind::kHotfix, options, reporter, action);
  hotfix->add_option("unit", change->spec.units, "Unit name")->required()->expected(1);
  hotfix->add_option("--ref", change->spec.ref, "stable or master")->required();
  hotfix->add_option("--ticket", change->spec.base.ticket, "Change ticket")->required();

  auto* promote = app.add_subcommand(
      "promote", "Deploy exactly what another environment runs (same artifacts, no build)");
  change = change_subcommand(promote, ChangeKind::kDeploy, options, reporter, action);
  add_units_option(promote, change->spec);
  add_all_flag(promote, change->spec);
  add_from_option(promote, change->spec, "The environment whose artifacts to deploy")->required();
  add_ticket_option(promote, change->spec);
  add_override_freeze_option(promote, change->spec);

  auto* rehearse = app.add_subcommand(
      "rehearse", "Reset this environment to what --like runs, then apply the change it would get");
  change = change_subcommand(rehearse, ChangeKind::kRehearsal, options, reporter, action);
  add_units_option(rehearse, change->spec);
  add_all_flag(rehearse, change->spec);
  rehearse->add_option("--like", change->spec.like, "The environment being rehearsed (e.g. prod)")
      ->required();
  auto* ref = add_ref_option(rehearse, change->spec);
  auto* from =
      add_from_option(rehearse, change->spec, "Or take the artifacts this environment runs");
  ref->excludes(from);
  from->excludes(ref);
  on_parsed(rehearse, action, [&options, &reporter, change, ref, from]() -> Result<Outcome> {
    if (ref->count() + from->count() != 1) {
      return fail(ErrorKind::kBadInput, "rehearse: give --ref REF or --from ENV");
    }
    return run_change_command(options, *change, *reporter);
  });
  add_ticket_option(rehearse, change->spec);
  add_override_freeze_option(rehearse, change->spec);
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
  add_ticket_option(cmd, change->spec);
}

void add_config_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                        CommandAction& action) {
  auto* config = app.add_subcommand("config", "A unit's config and data files");
  config->require_subcommand(1);
  auto* cmd = config->add_subcommand(
      "push", "Push config/data files into shared/config, reload without restart; snapshotted");
  auto change = change_subcommand(cmd, ChangeKind::kConfig, options, reporter, action);
  cmd->add_option("unit", change->spec.units, "Unit name")->required()->expected(1);
  add_ticket_option(cmd, change->spec);
  add_override_freeze_option(cmd, change->spec);
}

}  // namespace flotilla
