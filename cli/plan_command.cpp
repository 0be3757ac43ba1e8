// `flotilla plan UNIT --ref REF`: what a deploy would do — hosts, current →
// target release, batches in order, bytes to send, policy checks. It reads
// the hosts and builds (or reuses) the artifact; it changes no host.
#include <ctime>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"
#include "playbooks/change/approvals.hpp"
#include "playbooks/change/change_ticket.hpp"
#include "playbooks/change/plan_digest.hpp"
#include "playbooks/change/plan_report.hpp"
#include "playbooks/change/prepared_change.hpp"
#include "playbooks/freeze_window.hpp"

namespace flotilla {
namespace {

struct PlanOptions {
  ChangeRequest request;
  std::string format = "text";  // text, markdown, json
  bool digest = false;
};

Result<Outcome> run_plan(const GlobalOptions& options, const PlanOptions& plan_options,
                         Reporter& reporter) {
  const ChangeRequest& request = plan_options.request;
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  ChangeContext context = change_context(options, *targets, reporter);
  auto prepared = prepare_change(context, request);
  if (!prepared) return tl::unexpected(prepared.error());
  if (plan_options.digest) {
    std::string digest = plan_digest(prepared->plan);
    reporter.document({{"plan_digest", digest}});
    reporter.text(digest);
    return plan_outcome(prepared->plan);
  }
  if (plan_options.format == "text" && !reporter.json()) {
    print_plan(reporter, prepared->plan, prepared->unit());
    const Environment& env = *targets->environment;
    std::int64_t now = std::time(nullptr);
    if (auto frozen = freeze_at(env, now)) {
      reporter.text(reporter.paint("FROZEN now: " + describe_span(*frozen), Reporter::Color::kRed));
    } else if (auto next = next_freeze(env, now)) {
      reporter.text("next freeze: " + describe_span(*next));
    }
    if (env.approvals > 0) {
      reporter.text(fmt::format("needs {} approval(s) of plan {} (see `plan --format markdown`)",
                                env.approvals, plan_digest(prepared->plan).substr(0, 12)));
    }
    return plan_outcome(prepared->plan);
  }
  // The change record: with the approvals the lock host keeps for the ticket.
  ApprovalStatus approvals;
  approvals.required = targets->environment->approvals;
  if (approvals.required > 0 && !request.ticket.empty()) {
    auto read = read_approvals(context, request.ticket, plan_digest(prepared->plan));
    if (!read) return tl::unexpected(read.error());
    approvals = std::move(*read);
  }
  ChangeTicket ticket = change_ticket(context, request, *prepared, approvals, std::time(nullptr));
  // Through the reporter like all output: secrets redacted, a commit
  // subject's control characters made visible.
  if (reporter.json()) {
    reporter.document(change_ticket_json(ticket, *prepared));
  } else {
    std::string text = plan_options.format == "markdown"
                           ? change_ticket_markdown(ticket, *prepared)
                           : change_ticket_json(ticket, *prepared).dump(2);
    for (std::size_t start = 0; start < text.size();) {
      std::size_t end = std::min(text.find('\n', start), text.size());
      reporter.text(std::string_view(text).substr(start, end - start));
      start = end + 1;
    }
  }
  return plan_outcome(prepared->plan);
}

}  // namespace

void add_plan_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                      CommandAction& action) {
  auto plan = std::make_shared<PlanOptions>();
  auto* cmd = app.add_subcommand(
      "plan", "What a deploy would do: hosts, current -> target, batches, bytes; changes nothing");
  cmd->add_option("unit", plan->request.unit, "Unit name")->required();
  cmd->add_option("--ref", plan->request.ref, "Branch, tag or commit id")->required();
  cmd->add_option("--ticket", plan->request.ticket,
                  "Change ticket (required where the environment says so)");
  cmd->add_option("--format", plan->format,
                  "text, or the change record for the ticket: markdown or json")
      ->check(CLI::IsMember({"text", "markdown", "json"}));
  cmd->add_flag("--digest", plan->digest, "Print only the plan digest (what approvals sign)");
  cmd->callback([&options, &reporter, &action, plan] {
    action = [&options, &reporter, plan] { return run_plan(options, *plan, *reporter); };
  });
}

}  // namespace flotilla
