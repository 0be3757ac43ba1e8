// `flotilla approve TICKET UNIT... (--ref REF | --from ENV)`: sign this exact plan (its
// digest) with the approver's SSH key and keep the signature on the
// environment's lock host. `approvals list [TICKET]`: what is kept, checked.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/release_options.hpp"
#include "cli/targets.hpp"
#include "core/ssh_signature.hpp"
#include "playbooks/change/approvals.hpp"
#include "playbooks/change/plan_digest.hpp"
#include "playbooks/change/prepared_change.hpp"
#include "playbooks/change/release.hpp"
#include "playbooks/change/release_sources.hpp"

namespace flotilla {
namespace {

struct ApproveOptions {
  std::string ticket;
  ReleaseSpec spec;
  std::string key;
  std::string message;
};

Result<Outcome> run_approve(const GlobalOptions& options, ApproveOptions approve,
                            Reporter& reporter) {
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  std::string key = approve.key.empty() ? default_ssh_key() : approve.key;
  if (key.empty()) return fail(ErrorKind::kBadInput, "no SSH key to sign with: give --key FILE");
  if (approve.message.find('\n') != std::string::npos) {
    return fail(ErrorKind::kBadInput, "-m: one line, please");
  }
  if (approve.spec.ref.empty() == approve.spec.from.empty()) {
    return fail(ErrorKind::kBadInput, "approve: give --ref REF or --from ENV");
  }
  ChangeContext context = change_context(options, *targets, reporter);
  approve.spec.base.ticket = approve.ticket;
  auto release = release_for(context, approve.spec);
  if (!release) return tl::unexpected(release.error());
  // The same plans `deploy` or `promote` would make now: read from the
  // hosts, nothing changed.
  auto prepared = prepare_release(context, release->changes);
  if (!prepared) return tl::unexpected(prepared.error());
  std::string digest = release_digest(plans_of(*prepared));
  std::string environment = targets->environment->name;
  const std::string units = fmt::format("{}", fmt::join(approve.spec.units, " "));
  auto approval = sign_approval(
      approval_payload(environment, approve.ticket, digest, units, approve.message), key);
  if (!approval) return tl::unexpected(approval.error());
  // Whether it will count, said now rather than at deploy time.
  ApprovalStatus status = check_approvals({*approval}, 1, targets->project->approvers.value_or(""),
                                          environment, approve.ticket, digest, {});
  if (auto stored = keep_approval(context, approve.ticket, *approval); !stored) {
    return tl::unexpected(stored.error());
  }
  const CheckedApproval& checked = status.checked.front();
  reporter.document({{"ticket", approve.ticket},
                     {"environment", environment},
                     {"unit", units},
                     {"plan_digest", digest},
                     {"principal", checked.principal},
                     {"key", checked.key},
                     {"counts", checked.refused.empty()},
                     {"refused", checked.refused}});
  if (!checked.refused.empty()) {
    reporter.warning(fmt::format("kept, but it will not count: {}", checked.refused));
    return Outcome(ErrorKind::kBadInput);
  }
  reporter.text(fmt::format(
      "{} approved plan {} of {} ({} {} in {})", checked.principal, digest.substr(0, 12),
      approve.ticket, units,
      approve.spec.from.empty() ? approve.spec.ref : "from " + approve.spec.from, environment));
  return Outcome();
}

Result<Outcome> run_approvals_list(const GlobalOptions& options, const std::string& ticket,
                                   Reporter& reporter) {
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  auto kept =
      kept_approvals(change_context(options, *targets, reporter), ticket.empty() ? "-" : ticket);
  if (!kept) return tl::unexpected(kept.error());
  nlohmann::json list = nlohmann::json::array();
  reporter.text(fmt::format("{:<12} {:<24} {:<14} {:<21} {}", "TICKET", "SIGNER", "PLAN", "TIME",
                            "MESSAGE / WHY IT DOES NOT COUNT"));
  for (const auto& a : *kept) {
    const CheckedApproval& c = a.checked;
    list.push_back(a.to_json());
    reporter.text(fmt::format("{:<12} {:<24} {:<14} {:<21} {}", a.ticket,
                              c.principal.empty() ? "?" : c.principal, a.plan_digest.substr(0, 12),
                              c.time, c.refused.empty() ? c.message : "NOT VALID: " + c.refused));
  }
  reporter.document({{"environment", targets->environment->name}, {"approvals", list}});
  return Outcome();
}

}  // namespace

void add_approve_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                         CommandAction& action) {
  auto approve = std::make_shared<ApproveOptions>();
  auto* cmd = app.add_subcommand(
      "approve", "Sign this exact plan for a ticket with your SSH key (kept on the lock host)");
  cmd->add_option("ticket", approve->ticket, "The change's ticket, like DA-001")->required();
  add_units_option(cmd, approve->spec);
  cmd->get_option("units")->required();
  add_ref_option(cmd, approve->spec);
  add_from_option(cmd, approve->spec, "Or the environment promote takes them from");
  cmd->add_option("--key", approve->key,
                  "SSH key to sign with (a private key, or a public key ssh-agent holds); default "
                  "~/.ssh/id_ed25519, id_ecdsa, id_rsa");
  cmd->add_option("-m,--message", approve->message, "A note or condition, signed with it");
  on_parsed(cmd, action,
            [&options, &reporter, approve] { return run_approve(options, *approve, *reporter); });

  auto* approvals = app.add_subcommand("approvals", "Signed approvals kept for an environment");
  approvals->require_subcommand(1);
  auto ticket = std::make_shared<std::string>();
  auto* list = approvals->add_subcommand("list", "Every approval kept (for TICKET), checked");
  list->add_option("ticket", *ticket, "Only this ticket's");
  on_parsed(list, action, [&options, &reporter, ticket] {
    return run_approvals_list(options, *ticket, *reporter);
  });
}

}  // namespace flotilla
