// `flotilla snapshots list|show ID` and `flotilla history`: the ledger of
// changes. The local ledger is first brought up to date from the hosts'
// own copies (skip with --offline), so every controller sees one history.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/fleet_ledger.hpp"
#include "cli/targets.hpp"
#include "playbooks/change/approvals.hpp"
#include "playbooks/change/environment_lock.hpp"
#include "snapshots/ledger.hpp"

namespace flotilla {
namespace {

std::string short_id(const std::string& id) { return id.empty() ? "-" : id.substr(0, 12); }

// The approvals the lock host keeps for `ticket`, each checked by its signature.
Result<nlohmann::json> ticket_approvals(const GlobalOptions& options, const std::string& ticket,
                                        Reporter& reporter) {
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  ChangeContext context = change_context(options, *targets, reporter);
  auto host = lock_host_of(*targets);
  if (!host) return tl::unexpected(host.error());
  auto connection = context.connect(*targets, {*host});
  if (!connection) return tl::unexpected(connection.error());
  std::string environment = targets->environment->name;
  auto stored = load_approvals(**connection, environment, ticket);
  if (!stored) return tl::unexpected(stored.error());
  nlohmann::json out = nlohmann::json::array();
  for (const auto& approval : *stored) {
    auto doc = nlohmann::json::parse(approval.payload, nullptr, false);
    if (!doc.is_object()) continue;
    std::string digest = approval_field(approval.payload, "plan_digest");
    ApprovalStatus status = check_approvals({approval}, 1, targets->project->approvers.value_or(""),
                                            environment, ticket, digest, {});
    const CheckedApproval& c = status.checked.front();
    out.push_back({{"principal", c.principal},
                   {"key", c.key},
                   {"plan_digest", digest},
                   {"time", c.time},
                   {"message", c.message},
                   {"valid", c.refused.empty()},
                   {"refused", c.refused}});
  }
  return out;
}

std::string what_changed(const Snapshot& s) {
  if (s.kind == "rollback") return fmt::format("to snapshot {}", s.restores.value_or(0));
  if (s.kind == "restore") return fmt::format("backup of {}", s.restores.value_or(0));
  if (s.kind == "config") return "config " + short_id(s.config);
  if (!s.promoted_from.empty())
    return fmt::format("{} from {}", short_id(s.artifact), s.promoted_from);
  return fmt::format("{} @ {}", s.branch.empty() ? s.ref : s.branch, short_id(s.commit));
}

std::size_t changed_hosts(const Snapshot& s) {
  std::size_t n = 0;
  for (const auto& [host, r] : s.hosts) n += r.outcome == "updated";
  return n;
}

// Under one ticket the release's whole path: its rehearsal in another
// environment and the change here. The other environments' records come
// from this controller's ledger.
Result<void> add_other_environments(const GlobalOptions& options, const std::string& ticket,
                                    std::vector<Snapshot>& snapshots) {
  auto loaded = load_project_environment(options);
  if (!loaded) return tl::unexpected(loaded.error());
  for (const auto& env : loaded->project.environments) {
    if (env.name == loaded->environment->name) continue;
    auto theirs = Ledger(loaded->project.state_dir, env.name).list();
    if (!theirs) return tl::unexpected(theirs.error());
    for (auto& s : *theirs) {
      if (s.ticket == ticket) snapshots.push_back(std::move(s));
    }
  }
  std::stable_sort(snapshots.begin(), snapshots.end(), [](const Snapshot& a, const Snapshot& b) {
    return a.started < b.started;  // ISO times: the text order is the time order
  });
  return {};
}

Result<Outcome> run_list(const GlobalOptions& options, const LedgerOptions& what,
                         Reporter& reporter, bool as_history) {
  auto snapshots = read_ledger(options, what, reporter);
  if (!snapshots) return tl::unexpected(snapshots.error());
  if (as_history && !what.ticket.empty()) {
    if (auto added = add_other_environments(options, what.ticket, *snapshots); !added) {
      return tl::unexpected(added.error());
    }
  }
  nlohmann::json doc = nlohmann::json::array();
  reporter.text(fmt::format("{:>4}  {:<6} {:>4} {:<20} {:<9} {:<10} {:<28} {:<12} {:<12} {:<11} {}",
                            "ID", "ENV", "REL", "STARTED", "KIND", "UNIT", "WHAT", "TICKET", "WHO",
                            "OUTCOME", "HOSTS"));
  // History reads newest first; the ledger is listed in order.
  if (as_history) std::reverse(snapshots->begin(), snapshots->end());
  for (const auto& s : *snapshots) {
    doc.push_back(s.to_json());
    std::string outcome = s.outcome == "running" ? "unfinished" : s.outcome;
    reporter.text(fmt::format(
        "{:>4}  {:<6} {:>4} {:<20} {:<9} {:<10} {:<28} {:<12} {:<12} {:<11} {}/{}", s.id,
        s.environment, s.release > 0 ? std::to_string(s.release) : "-", s.started, s.kind, s.unit,
        what_changed(s), s.ticket.empty() ? "-" : s.ticket, s.user,
        reporter.paint(outcome, s.succeeded() ? Reporter::Color::kGreen : Reporter::Color::kRed),
        changed_hosts(s), s.hosts.size()));
    if (!s.disputed.empty()) {
      reporter.text("      " + reporter.paint("disputed: " + s.disputed, Reporter::Color::kRed));
    }
  }
  if (snapshots->empty()) reporter.text("(no snapshots yet)");
  nlohmann::json out = {{as_history ? "history" : "snapshots", doc}};
  // Under one ticket, the approval trail too: who signed which plan, checked.
  if (as_history && !what.ticket.empty() && !what.offline) {
    auto approvals = ticket_approvals(options, what.ticket, reporter);
    if (!approvals) return tl::unexpected(approvals.error());
    for (const auto& a : *approvals) {
      reporter.text(fmt::format(
          "      {:<20} approval {} of plan {}{}", a.value("time", ""), a.value("principal", "?"),
          a.value("plan_digest", "").substr(0, 12),
          a.value("valid", false) ? "" : " (NOT VALID: " + a.value("refused", "") + ")"));
    }
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
    reporter.text(reporter.paint(fmt::format("snapshot {}: {} {} in {} — {}", s.id, s.kind, s.unit,
                                             s.environment, s.outcome),
                                 Reporter::Color::kBold));
    if (!s.disputed.empty()) {
      reporter.text(reporter.paint(fmt::format("  DISPUTED: {} (never a rollback target, "
                                               "evidence, restore or promote source)",
                                               s.disputed),
                                   Reporter::Color::kRed));
    }
    if (!s.signer.empty()) reporter.text(fmt::format("  signed:  by {}", s.signer));
    reporter.text(fmt::format("  what:    {}", what_changed(s)));
    if (!s.artifact.empty()) reporter.text(fmt::format("  release: {}", s.artifact));
    if (s.release > 0) reporter.text(fmt::format("  part of: release {}", s.release));
    if (!s.promoted_from.empty()) {
      reporter.text(fmt::format("  from:    {} (promoted, no build)", s.promoted_from));
    }
    if (!s.rehearsal.is_null()) reporter.text(fmt::format("  rehearsal: {}", s.rehearsal.dump()));
    reporter.text(fmt::format("  who:     {}@{}, ticket {}", s.user, s.controller,
                              s.ticket.empty() ? "-" : s.ticket));
    reporter.text(
        fmt::format("  when:    {} .. {}", s.started, s.finished.empty() ? "?" : s.finished));
    if (!s.backup.is_null()) reporter.text(fmt::format("  backup:  {}", s.backup.dump()));
    reporter.text(fmt::format("  {:<16} {:<13} {:<13} {}", "HOST", "BEFORE", "AFTER", "OUTCOME"));
    for (const auto& [host, r] : s.hosts) {
      reporter.text(fmt::format("  {:<16} {:<13} {:<13} {}", host, short_id(r.before),
                                r.after.empty() && r.outcome == "failed" ? "?" : short_id(r.after),
                                r.outcome));
    }
    return Outcome();
  }
  return fail(ErrorKind::kBadInput, fmt::format("no snapshot {} in this environment", what.id));
}

// `backups list UNIT`: what each snapshot's backup recorded, newest first.
Result<Outcome> run_backups(const GlobalOptions& options, const LedgerOptions& what,
                            Reporter& reporter) {
  auto snapshots = read_ledger(options, what, reporter);
  if (!snapshots) return tl::unexpected(snapshots.error());
  nlohmann::json list = nlohmann::json::array();
  reporter.text(fmt::format("{:>4}  {:<20} {:<9} {:<12} {:<9} {}", "SNAP", "TAKEN", "KIND", "HOST",
                            "VERIFIED", "LOCATION"));
  for (auto it = snapshots->rbegin(); it != snapshots->rend(); ++it) {
    const Snapshot& s = *it;
    if (!s.backup.is_array()) continue;
    for (const auto& b : s.backup) {
      if (!b.is_object()) continue;
      // What a host recorded is read by type: a malformed field is shown
      // empty, never thrown on.
      auto text = [&b](const char* key) {
        auto field = b.find(key);
        return field != b.end() && field->is_string() ? field->get<std::string>() : std::string();
      };
      auto flag = [&b](const char* key) {
        auto field = b.find(key);
        return field != b.end() && field->is_boolean() && field->get<bool>();
      };
      std::string verified = !s.disputed.empty()       ? "DISPUTED"
                             : !b.contains("verified") ? "-"
                             : flag("verified")        ? "yes"
                                                       : "FAILED";
      list.push_back({{"snapshot", s.id},
                      {"kind", s.kind},
                      {"started", s.started},
                      {"host", text("host")},
                      {"ok", flag("ok")},
                      {"location", text("location")},
                      {"verified", b.contains("verified") ? nlohmann::json(flag("verified"))
                                                          : nlohmann::json()}});
      if (!s.disputed.empty()) list.back()["disputed"] = s.disputed;
      reporter.text(fmt::format("{:>4}  {:<20} {:<9} {:<12} {:<9} {}", s.id, s.started, s.kind,
                                text("host"), verified, text("location")));
    }
  }
  if (list.empty()) reporter.text("(no backups recorded)");
  reporter.document({{"unit", what.unit}, {"backups", list}});
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
  list->callback([&options, &reporter, &action, what] {
    action = [&options, &reporter, what] { return run_list(options, *what, *reporter, false); };
  });
  auto* show = snapshots->add_subcommand("show", "One snapshot, host by host");
  show->add_option("id", what->id, "Snapshot id")->required()->check(CLI::PositiveNumber);
  show->add_flag("--offline", what->offline, "Read only this controller's ledger");
  show->callback([&options, &reporter, &action, what] {
    action = [&options, &reporter, what] { return run_show(options, *what, *reporter); };
  });
  auto backups_what = std::make_shared<LedgerOptions>();
  auto* backups = app.add_subcommand("backups", "Backups the snapshots recorded");
  backups->require_subcommand(1);
  auto* backups_list = backups->add_subcommand("list", "A unit's backups, newest first");
  backups_list->add_option("unit", backups_what->unit, "Unit name")->required();
  backups_list->add_flag("--offline", backups_what->offline, "Read only this controller's ledger");
  backups_list->callback([&options, &reporter, &action, backups_what] {
    action = [&options, &reporter, backups_what] {
      return run_backups(options, *backups_what, *reporter);
    };
  });
  auto* history =
      app.add_subcommand("history", "Who changed what, when, under which ticket, with what result");
  add_ledger_filters(history, *what);
  history->callback([&options, &reporter, &action, what] {
    action = [&options, &reporter, what] { return run_list(options, *what, *reporter, true); };
  });
}

}  // namespace flotilla
