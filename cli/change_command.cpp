// The commands that change a fleet — `deploy`, `hotfix`, `rollback`,
// `config push` — share one path: take the environment's lock, plan from
// the live hosts, print the plan, (back up), number a snapshot, execute
// exactly that plan, record where every host ended up, locally and on the
// hosts, prune what retention allows, release the lock.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/lock_host.hpp"
#include "cli/prepared_change.hpp"
#include "core/script_command.hpp"
#include "inventory/host_pattern.hpp"
#include "playbooks/deploy_lock.hpp"
#include "playbooks/host_steps.hpp"
#include "playbooks/secret_bundle.hpp"
#include "snapshots/fleet_history.hpp"

namespace flotilla {
namespace {

struct ChangeOptions {
  ChangeRequest request;
  std::string lock_wait = "0s";
  long to = 0;  // rollback --to; 0: the previous good snapshot
};

Result<int> change_locked(const GlobalOptions& options, const ChangeRequest& request,
                          DeployLock& lock, Reporter& reporter);

std::string describe_request(const ChangeRequest& r) {
  if (r.kind == "rollback")
    return r.to ? fmt::format("rollback {} --to {}", r.unit, *r.to) : "rollback " + r.unit;
  if (r.kind == "config") return "config push " + r.unit;
  return fmt::format("{} {} --ref {}", r.kind, r.unit, r.ref);
}

// Takes the environment's lock first (so the plan is made under it), and
// releases it whatever happens next.
Result<int> run_change(const GlobalOptions& options, const ChangeOptions& change,
                       Reporter& reporter) {
  ChangeRequest request = change.request;
  if (change.to > 0) request.to = change.to;
  auto wait = parse_duration(change.lock_wait);
  if (!wait) return fail(ErrorKind::kBadInput, "--lock-wait: expected a duration like 30s or 10m");
  // A missing secret stops the change before any host, the lock host
  // included, is touched.
  if (auto loaded = load_project_environment(options)) {
    if (const Unit* unit = loaded->project.unit(request.unit)) {
      if (auto secrets = read_secrets(*unit); !secrets) return tl::unexpected(secrets.error());
    }
  }
  auto lock = open_deploy_lock(options, reporter);
  if (!lock) return tl::unexpected(lock.error());
  auto holder = lock->lock.acquire(request.ticket, describe_request(request), *wait);
  if (!holder) return tl::unexpected(holder.error());
  reporter.event("lock_acquired", {{"environment", lock->environment}});
  auto result = change_locked(options, request, lock->lock, reporter);
  if (auto released = lock->lock.release(holder->token, false); !released) {
    reporter.error(fmt::format("could not release the deploy lock: {}", released.error().message));
  }
  return result;
}

// The unit's backup, on its backup hosts (default: the first host), before
// anything changes. Returns what the snapshot records.
Result<nlohmann::json> run_backup(const PreparedChange& prepared, Reporter& reporter) {
  const Unit& unit = *prepared.unit;
  const Inventory& inventory = prepared.targets.inventory.inventory;
  std::vector<std::size_t> chosen;  // transport indexes
  if (unit.backup_hosts.empty()) {
    chosen.push_back(0);
  } else {
    auto selected = select_hosts(inventory, unit.backup_hosts);
    if (!selected) return tl::unexpected(selected.error());
    for (std::size_t i = 0; i < prepared.targets.hosts.size(); ++i) {
      if (std::find(selected->begin(), selected->end(), prepared.targets.hosts[i]) !=
          selected->end())
        chosen.push_back(i);
    }
    if (chosen.empty()) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("units.{}.backup.hosts '{}' names none of the hosts being changed",
                              unit.name, unit.backup_hosts));
    }
  }
  HostLayout layout{unit.deploy_to};
  std::vector<HostTask> tasks;
  std::vector<std::string> names;
  for (std::size_t index : chosen) {
    const std::string& name = inventory.hosts()[prepared.targets.hosts[index]].name;
    auto command = expand_command(*unit.backup_command, prepared.hosts.at(name).vars, layout);
    if (!command) return tl::unexpected(command.error());
    tasks.push_back({index, script_command(HostScript::kBackup, {unit.deploy_to, *command}, "",
                                           std::chrono::minutes(30))});
    names.push_back(name);
  }
  reporter.progress(fmt::format("backup on {}", fmt::join(names, " ")));
  auto results = prepared.connection->transport().run(tasks);
  nlohmann::json record = nlohmann::json::array();
  std::vector<std::string> failures;
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    bool done = r && r->ok();
    std::string location;
    if (r) {
      std::string out = r->out;
      while (!out.empty() && out.back() == '\n') out.pop_back();
      location = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
    }
    std::string error = !r ? r.error().message : done ? "" : r->err;
    // Both are kept in the snapshot, locally and on the hosts: never a secret.
    location = reporter.redacted(location);
    error = reporter.redacted(error);
    record.push_back({{"host", names[i]}, {"ok", done}, {"location", location}, {"error", error}});
    reporter.event("backup_done", {{"host", names[i]}, {"ok", done}, {"location", location}});
    if (!done) {
      while (!error.empty() && error.back() == '\n') error.pop_back();
      failures.push_back(fmt::format("{} ({})", names[i],
                                     !error.empty() ? error
                                     : r            ? fmt::format("exit {}", r->exit_status)
                                                    : "failed"));
    }
  }
  if (!failures.empty()) {
    return fail(ErrorKind::kFailed, fmt::format("backup failed on {}", fmt::join(failures, ", ")));
  }
  return record;
}

HostRecord record_of(const HostPlan& h, const HostOutcome& outcome) {
  HostRecord r;
  r.before = h.current.value_or("");
  r.config_before = h.current_config;
  switch (outcome.state) {
    case HostOutcome::State::kUpdated:
      r.after = h.target.release;
      r.config_after = h.target.config.empty() ? h.current_config : h.target.config;
      break;
    case HostOutcome::State::kFailed:
      break;  // unknown: never a rollback target
    default:
      r.after = r.before;
      r.config_after = r.config_before;
  }
  r.outcome = outcome_name(outcome.state);
  return r;
}

Result<int> change_locked(const GlobalOptions& options, const ChangeRequest& request,
                          DeployLock& lock, Reporter& reporter) {
  auto prepared = prepare_change(options, request, reporter);
  if (!prepared) return tl::unexpected(prepared.error());
  const DeployPlan& plan = prepared->plan;
  const Unit& unit = *prepared->unit;
  if (reporter.json()) {
    reporter.event("plan", plan.to_json());
  } else {
    print_plan(reporter, plan, unit);
  }
  if (!plan.complete()) {
    reporter.error("not every host is ready; nothing was changed");
    return plan_exit_code(plan);
  }
  if (plan.batches.empty()) {
    reporter.text("nothing to do: every host is already there");
    reporter.event("deploy_done",
                   {{"ok", true}, {"kind", plan.kind}, {"summary", "nothing to do"}});
    return 0;
  }

  Snapshot snapshot;
  snapshot.environment = plan.environment;
  snapshot.unit = unit.name;
  snapshot.kind = plan.kind;
  snapshot.artifact = plan.artifact;
  snapshot.config = plan.config;
  snapshot.secrets = plan.secrets;
  snapshot.commit = plan.ref.commit;
  snapshot.branch = plan.ref.branch.value_or("");
  snapshot.ref = request.ref;
  snapshot.ticket = request.ticket;
  snapshot.user = controller_user();
  snapshot.controller = controller_host();
  snapshot.started = iso_time_now();
  snapshot.restores = plan.restores;
  auto id = lock.next_snapshot_id(prepared->highest_snapshot);
  if (!id) return tl::unexpected(id.error());
  snapshot.id = *id;
  Ledger ledger = ledger_of(prepared->targets);

  std::vector<Snapshot> history = prepared->history;
  RolloutResult result;
  bool backup_failed = false;
  if (unit.backup_command && (plan.kind == "deploy" || plan.kind == "hotfix")) {
    auto backup = run_backup(*prepared, reporter);
    if (!backup) {
      backup_failed = true;
      snapshot.backup = {{"error", backup.error().message}};
      result.ok = false;
      result.summary = backup.error().message + "; nothing was changed";
      for (const auto& h : plan.hosts)
        result.hosts.push_back({h.host, HostOutcome::State::kNotStarted, ""});
    } else {
      snapshot.backup = *backup;
    }
  }
  // Saved before any host changes, with where each host is headed: a
  // controller killed from here on leaves a "running" record that says so.
  for (const auto& h : plan.hosts) {
    snapshot.hosts[h.host] = {h.current.value_or(""), h.target.release, h.current_config,
                              h.target.config, h.change ? "running" : "unchanged"};
  }
  if (auto saved = ledger.save(snapshot); !saved) return tl::unexpected(saved.error());
  reporter.event("snapshot", {{"id", snapshot.id}, {"kind", snapshot.kind}});
  if (!backup_failed) {
    result = execute_rollout(plan, unit, prepared->sources, prepared->hosts, snapshot.id,
                             prepared->connection->transport(), reporter,
                             [] { return FleetConnection::interrupted(); });
  }
  for (std::size_t i = 0; i < plan.hosts.size(); ++i) {
    snapshot.hosts[plan.hosts[i].host] = record_of(plan.hosts[i], result.hosts[i]);
  }
  snapshot.outcome = result.ok ? "succeeded" : result.interrupted ? "interrupted" : "failed";
  snapshot.finished = iso_time_now();
  if (auto saved = ledger.save(snapshot); !saved) return tl::unexpected(saved.error());
  history.push_back(snapshot);

  // The hosts keep their part of the record; after a success, retention.
  // After a Ctrl-C too: this round trip changes nothing a service sees, and
  // without it the hosts' history would miss the interrupted change.
  if (result.interrupted) prepared->connection->transport().resume();
  HostLayout layout{unit.deploy_to};
  std::vector<HostTask> finishing;
  std::vector<std::string> finishing_hosts;
  for (const auto& h : plan.hosts) {
    const HostRecord& r = snapshot.hosts[h.host];
    std::optional<RetainedVersions> retained;
    if (snapshot.succeeded() && r.outcome != "failed") {
      retained =
          RetainedVersions{releases_to_keep(history, h.host, r.after, unit.keep_releases),
                           configs_to_keep(history, h.host, r.config_after, unit.keep_releases)};
    }
    finishing.push_back({prepared->hosts.at(h.host).index,
                         finish_command(layout, snapshot.for_host(h.host).dump(), retained)});
    finishing_hosts.push_back(h.host);
  }
  auto finished = prepared->connection->transport().run(finishing);
  for (std::size_t i = 0; i < finished.size(); ++i) {
    if (!finished[i] || !finished[i]->ok()) {
      reporter.warning(fmt::format("{}: could not record snapshot {} on the host: {}",
                                   finishing_hosts[i], snapshot.id,
                                   finished[i] ? finished[i]->err : finished[i].error().message));
    }
  }

  for (const auto& h : result.hosts) {
    Reporter::Color color = h.state == HostOutcome::State::kFailed       ? Reporter::Color::kRed
                            : h.state == HostOutcome::State::kRolledBack ? Reporter::Color::kYellow
                                                                         : Reporter::Color::kGreen;
    reporter.text(fmt::format("  {:<16} {}{}", h.host, reporter.paint(outcome_name(h.state), color),
                              h.detail.empty() ? "" : ": " + h.detail));
  }
  std::string tail = fmt::format(" (snapshot {})", snapshot.id);
  if (result.ok) {
    reporter.text(reporter.paint("done: ", Reporter::Color::kGreen) + result.summary + tail);
    return 0;
  }
  reporter.error(result.summary + tail);
  return 1;
}

// What every change command shares: the unit argument, --lock-wait, and
// running the change once parsing succeeds.
std::shared_ptr<ChangeOptions> change_subcommand(CLI::App* cmd, const char* kind,
                                                 const GlobalOptions& options, Reporter*& reporter,
                                                 CommandAction& action) {
  auto change = std::make_shared<ChangeOptions>();
  change->request.kind = kind;
  cmd->add_option("unit", change->request.unit, "Unit name")->required();
  cmd->add_option("--lock-wait", change->lock_wait,
                  "Wait this long for the deploy lock (CI queues); default: exit 3 at once");
  cmd->callback([&options, &reporter, &action, change] {
    action = [&options, &reporter, change] { return run_change(options, *change, *reporter); };
  });
  return change;
}

}  // namespace

void add_deploy_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                        CommandAction& action) {
  for (const char* kind : {"deploy", "hotfix"}) {
    bool hotfix = std::string(kind) == "hotfix";
    auto* cmd = app.add_subcommand(
        kind, hotfix
                  ? "On-call path: deploy 'stable' or 'master' (ticket required) to --limit hosts"
                  : "Build (or reuse) and roll out in safe batches; records a snapshot");
    auto change = change_subcommand(cmd, kind, options, reporter, action);
    cmd->add_option("--ref", change->request.ref,
                    hotfix ? "stable or master" : "Branch, tag or commit id")
        ->required();
    auto* ticket = cmd->add_option("--ticket", change->request.ticket,
                                   "Change ticket (required where the environment says so)");
    if (hotfix) ticket->required();
  }
}

void add_rollback_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                          CommandAction& action) {
  auto* cmd = app.add_subcommand(
      "rollback", "Back to the previous good snapshot (or --to one) without rebuilding");
  auto change = change_subcommand(cmd, "rollback", options, reporter, action);
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
  auto change = change_subcommand(cmd, "config", options, reporter, action);
  cmd->add_option("--ticket", change->request.ticket,
                  "Change ticket (required where the environment says so)");
}

}  // namespace flotilla
