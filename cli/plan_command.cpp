// `flotilla plan UNIT... (--ref REF | --from ENV)`: what a deploy (or a
// promote) would do — hosts, current →
// target release, batches in order, bytes to send, policy checks. It reads
// the hosts and builds (or reuses) the artifact; it changes no host.
#include <ctime>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/release_options.hpp"
#include "cli/targets.hpp"
#include "playbooks/change/approvals.hpp"
#include "playbooks/change/change_ticket.hpp"
#include "playbooks/change/plan_digest.hpp"
#include "playbooks/change/plan_report.hpp"
#include "playbooks/change/prepared_change.hpp"
#include "playbooks/change/record_signing.hpp"
#include "playbooks/change/rehearsal_check.hpp"
#include "playbooks/change/release.hpp"
#include "playbooks/change/release_sources.hpp"
#include "playbooks/freeze_window.hpp"

namespace flotilla {
namespace {

struct PlanOptions {
  ReleaseSpec spec;
  std::string format = "text";  // text, markdown, json
  bool digest = false;
};

void print_lines(Reporter& reporter, const std::string& text) {
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = std::min(text.find('\n', start), text.size());
    reporter.text(std::string_view(text).substr(start, end - start));
    start = end + 1;
  }
}

Result<Outcome> run_plan(const GlobalOptions& options, const PlanOptions& plan_options,
                         Reporter& reporter) {
  if (plan_options.spec.ref.empty() == plan_options.spec.from.empty()) {
    return fail(ErrorKind::kBadInput, "plan: give --ref REF or --from ENV");
  }
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  ChangeContext context = change_context(options, *targets, reporter);
  auto release = release_for(context, plan_options.spec);
  if (!release) return tl::unexpected(release.error());
  auto prepared = prepare_release(context, release->changes);
  if (!prepared) return tl::unexpected(prepared.error());
  Outcome outcome;
  for (const auto& p : *prepared) outcome.add(plan_outcome(p.plan));
  const std::string digest = release_digest(plans_of(*prepared));
  if (plan_options.digest) {
    reporter.document({{"plan_digest", digest}});
    reporter.text(digest);
    return outcome;
  }
  if (plan_options.format == "text" && !reporter.json()) {
    for (const auto& p : *prepared) print_plan(reporter, p.plan, p.unit());
    const Environment& env = *targets->environment;
    std::int64_t now = std::time(nullptr);
    if (auto frozen = freeze_at(env, now)) {
      reporter.text(reporter.paint("FROZEN now: " + describe_span(*frozen), Reporter::Color::kRed));
    } else if (auto next = next_freeze(env, now)) {
      reporter.text("next freeze: " + describe_span(*next));
    }
    if (env.approvals > 0) {
      reporter.text(fmt::format("needs {} approval(s) of plan {} (see `plan --format markdown`)",
                                env.approvals, digest.substr(0, 12)));
    }
    if (needs_rehearsal(env, release->changes)) {
      auto rehearsed = check_rehearsed(*targets->project, env, release->changes, *prepared, now);
      reporter.text(rehearsed ? fmt::format("rehearsed in {}: yes", env.require_rehearsal->in)
                              : reporter.paint("NOT REHEARSED: " + rehearsed.error().message,
                                               Reporter::Color::kRed));
    }
    reporter.text("records: " + record_trust(context));
    return outcome;
  }
  // The change record: with the approvals the lock host keeps for the ticket.
  const std::string& ticket_id = plan_options.spec.base.ticket;
  ApprovalStatus approvals;
  approvals.required = targets->environment->approvals;
  if (approvals.required > 0 && !ticket_id.empty()) {
    auto read = read_approvals(context, ticket_id, digest);
    if (!read) return tl::unexpected(read.error());
    approvals = std::move(*read);
  }
  // Through the reporter like all output: secrets redacted, a commit
  // subject's control characters made visible.
  nlohmann::json records = nlohmann::json::array();
  std::string markdown;
  for (std::size_t i = 0; i < prepared->size(); ++i) {
    const PreparedChange& p = (*prepared)[i];
    ChangeTicket ticket =
        change_ticket(context, release->changes[i], p, approvals, std::time(nullptr));
    records.push_back(change_ticket_json(ticket, p));
    markdown += (i > 0 ? "\n" : "") + change_ticket_markdown(ticket, p);
  }
  nlohmann::json doc = records.size() == 1
                           ? records.front()
                           : nlohmann::json{{"release", records}, {"plan_digest", digest}};
  if (reporter.json()) {
    reporter.document(doc);
  } else if (plan_options.format == "markdown") {
    if (records.size() > 1) markdown += fmt::format("\nRelease plan digest: `{}`\n", digest);
    print_lines(reporter, markdown);
  } else {
    print_lines(reporter, doc.dump(2));
  }
  return outcome;
}

}  // namespace

void add_plan_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                      CommandAction& action) {
  auto plan = std::make_shared<PlanOptions>();
  auto* cmd = app.add_subcommand(
      "plan", "What a deploy would do: hosts, current -> target, batches, bytes; changes nothing");
  add_units_option(cmd, plan->spec);
  add_all_flag(cmd, plan->spec);
  add_ref_option(cmd, plan->spec);
  add_from_option(cmd, plan->spec, "Or what this environment runs (promote)");
  add_ticket_option(cmd, plan->spec);
  cmd->add_option("--format", plan->format,
                  "text, or the change record for the ticket: markdown or json")
      ->check(CLI::IsMember({"text", "markdown", "json"}));
  cmd->add_flag("--digest", plan->digest, "Print only the plan digest (what approvals sign)");
  on_parsed(cmd, action,
            [&options, &reporter, plan] { return run_plan(options, *plan, *reporter); });
}

}  // namespace flotilla
