#include "playbooks/change/plan_report.hpp"
#include "snapshots/short_id.hpp"

#include <fmt/format.h>

namespace flotilla {
namespace {}  // namespace

void print_plan(Reporter& reporter, const DeployPlan& plan, const Unit& unit) {
  const auto& ref = plan.ref;
  std::string what =
      plan.kind == ChangeKind::kRollback
          ? fmt::format("rollback {} to snapshot {}", plan.unit, plan.restores.value_or(0))
      : plan.kind == ChangeKind::kRestore ? fmt::format("restore {} from snapshot {}'s backup",
                                                        plan.unit, plan.restores.value_or(0))
      : plan.kind == ChangeKind::kConfig
          ? fmt::format("config push {} {}", plan.unit, short_id(plan.config))
          : fmt::format("{} {} {} ({} @ {})", change_kind_name(plan.kind), plan.unit,
                        short_id(plan.artifact), ref.branch.value_or(ref.tag.value_or(ref.given)),
                        ref.commit.substr(0, 12));
  reporter.text(reporter.paint(fmt::format("plan: {} in {}", what, plan.environment),
                               Reporter::Color::kBold));
  reporter.text(fmt::format("  {:<16} {:<14} {:<14} {}", "HOST", "CURRENT", "TARGET", "ACTION"));
  for (const auto& h : plan.hosts) {
    std::string action =
        h.error ? reporter.paint("FAILED: " + h.error->message, Reporter::Color::kRed)
        : !h.change && plan.kind == ChangeKind::kRestore
            ? std::string("nothing (no backup of it in that snapshot)")
        : !h.change                 ? std::string("nothing (already running it)")
        : !h.restore_backup.empty() ? std::string("stop; restore its backup; start")
        : h.restart
            ? fmt::format("restart; {} {} files, {}{}", plan.bytes_from.empty() ? "send" : "pull",
                          h.files_to_send, format_bytes(h.bytes_to_send),
                          h.send_secrets ? "; new secrets" : "")
        : !h.target.config.empty() && h.target.config != h.current_config
            ? fmt::format("reload config {}{}", short_id(h.target.config),
                          h.send_secrets ? " and new secrets" : "")
            : std::string("reload with new secrets");
    reporter.text(fmt::format("  {:<16} {:<14} {:<14} {}", h.host, short_id(h.current.value_or("")),
                              short_id(h.target.release), action));
  }
  reporter.text(
      fmt::format("batches (canary {}, max_unavailable {}{}, pairs by '{}'):", unit.rollout.canary,
                  unit.rollout.max_unavailable.value,
                  unit.rollout.max_unavailable.percent ? "%" : "", unit.rollout.pair_key));
  if (plan.batches.empty()) reporter.text("  none: every host already runs this release");
  if (auto balancer = describe_balancer_plan(unit); !balancer.empty() && !plan.batches.empty()) {
    reporter.text(balancer);
  }
  for (std::size_t i = 0; i < plan.batches.size(); ++i) {
    const auto& b = plan.batches[i];
    reporter.text(fmt::format("  {:>2} {:<9} {}", i + 1, b.canary ? "(canary)" : "",
                              fmt::join(b.hosts, " ")));
  }
  if (plan.bytes_from.empty()) {
    reporter.text(fmt::format("to send: {} in all, pushed by this controller over SSH",
                              format_bytes(plan.bytes_to_send)));
  } else {
    reporter.text(
        fmt::format("to pull: {} in all, each host from {} (this controller uploads "
                    "only the files the registry lacks)",
                    format_bytes(plan.bytes_to_send), plan.bytes_from));
  }
  for (const auto& check : plan.checks) {
    reporter.text(fmt::format("  {} {}", reporter.paint("ok", Reporter::Color::kGreen), check));
  }
}

Outcome plan_outcome(const DeployPlan& plan) {
  Outcome outcome;
  for (const auto& h : plan.hosts) {
    if (h.error)
      outcome.add(h.error->kind == ErrorKind::kUnreachable ? ErrorKind::kUnreachable
                                                           : ErrorKind::kFailed);
  }
  return outcome;
}

}  // namespace flotilla
