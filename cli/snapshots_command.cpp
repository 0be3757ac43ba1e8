// `flotilla snapshots list|show ID`, `history` and `backups list UNIT`: the
// ledger of changes. The local ledger is first brought up to date from the
// hosts' own copies (skip with --offline), so every controller sees one
// history. How it reads is snapshots/ledger_report.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/fleet_ledger.hpp"
#include "cli/targets.hpp"
#include "playbooks/change/approvals.hpp"
#include "snapshots/ledger_report.hpp"

namespace flotilla {
namespace {

// Under one ticket, the approval trail too: who signed which plan, checked.
Result<nlohmann::json> report_ticket_approvals(const GlobalOptions& options,
                                               const std::string& ticket, Reporter& reporter) {
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  auto kept = kept_approvals(change_context(options, *targets, reporter), ticket);
  if (!kept) return tl::unexpected(kept.error());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : *kept) {
    reporter.text(fmt::format(
        "      {:<20} approval {} of plan {}{}", a.checked.time,
        a.checked.principal.empty() ? "?" : a.checked.principal, a.plan_digest.substr(0, 12),
        a.checked.refused.empty() ? "" : " (NOT VALID: " + a.checked.refused + ")"));
    out.push_back(a.to_json());
  }
  return out;
}

Result<Outcome> run_list(const GlobalOptions& options, const LedgerOptions& what,
                         Reporter& reporter, bool as_history) {
  auto snapshots = as_history ? read_ticket_history(options, what, reporter)
                              : read_ledger(options, what, reporter);
  if (!snapshots) return tl::unexpected(snapshots.error());
  nlohmann::json out = {{as_history ? "history" : "snapshots",
                         report_snapshot_list(reporter, *snapshots, as_history)}};
  if (as_history && !what.ticket.empty() && !what.offline) {
    auto approvals = report_ticket_approvals(options, what.ticket, reporter);
    if (!approvals) return tl::unexpected(approvals.error());
    out["approvals"] = *approvals;
  }
  reporter.document(out);
  return Outcome();
}

Result<Outcome> run_show(const GlobalOptions& options, const LedgerOptions& what,
                         Reporter& reporter) {
  auto snapshots = read_ledger(options, what, reporter);
  if (!snapshots) return tl::unexpected(snapshots.error());
  for (const auto& s : *snapshots) {
    if (s.id != what.id) continue;
    reporter.document(s.to_json());
    report_snapshot(reporter, s);
    return Outcome();
  }
  return fail(ErrorKind::kBadInput, fmt::format("no snapshot {} in this environment", what.id));
}

Result<Outcome> run_backups(const GlobalOptions& options, const LedgerOptions& what,
                            Reporter& reporter) {
  auto snapshots = read_ledger(options, what, reporter);
  if (!snapshots) return tl::unexpected(snapshots.error());
  reporter.document({{"unit", what.unit}, {"backups", report_backups(reporter, *snapshots)}});
  return Outcome();
}

void add_ledger_filters(CLI::App* cmd, LedgerOptions& what) {
  cmd->add_option("--unit", what.unit, "Only this unit");
  cmd->add_option("--ticket", what.ticket, "Only changes made under this ticket");
  cmd->add_flag("--offline", what.offline, "Read only this controller's ledger; contact no host");
}

}  // namespace

void add_snapshots_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                           CommandAction& action) {
  auto what = std::make_shared<LedgerOptions>();
  auto* snapshots = app.add_subcommand("snapshots", "The snapshot ledger");
  snapshots->require_subcommand(1);
  auto* list = snapshots->add_subcommand("list", "Every snapshot of the environment, oldest first");
  add_ledger_filters(list, *what);
  on_parsed(list, action,
            [&options, &reporter, what] { return run_list(options, *what, *reporter, false); });
  auto* show = snapshots->add_subcommand("show", "One snapshot, host by host");
  show->add_option("id", what->id, "Snapshot id")->required()->check(CLI::PositiveNumber);
  show->add_flag("--offline", what->offline, "Read only this controller's ledger");
  on_parsed(show, action,
            [&options, &reporter, what] { return run_show(options, *what, *reporter); });

  auto backups_what = std::make_shared<LedgerOptions>();
  auto* backups = app.add_subcommand("backups", "Backups the snapshots recorded");
  backups->require_subcommand(1);
  auto* backups_list = backups->add_subcommand("list", "A unit's backups, newest first");
  backups_list->add_option("unit", backups_what->unit, "Unit name")->required();
  backups_list->add_flag("--offline", backups_what->offline, "Read only this controller's ledger");
  on_parsed(backups_list, action, [&options, &reporter, backups_what] {
    return run_backups(options, *backups_what, *reporter);
  });

  auto* history =
      app.add_subcommand("history", "Who changed what, when, under which ticket, with what result");
  add_ledger_filters(history, *what);
  on_parsed(history, action,
            [&options, &reporter, what] { return run_list(options, *what, *reporter, true); });
}

}  // namespace flotilla
