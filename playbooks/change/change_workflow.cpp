#include "playbooks/change/change_workflow.hpp"

#include <ctime>

#include <fmt/format.h>

#include "playbooks/change/approvals.hpp"
#include "playbooks/change/backup.hpp"
#include "playbooks/change/change_record.hpp"
#include "playbooks/change/environment_lock.hpp"
#include "playbooks/change/plan_digest.hpp"
#include "playbooks/change/plan_report.hpp"
#include "playbooks/change/prepared_change.hpp"
#include "playbooks/freeze_window.hpp"
#include "playbooks/registry_publish.hpp"
#include "playbooks/secret_bundle.hpp"

namespace flotilla {

namespace {

void report_hosts(Reporter& reporter, const RolloutResult& result) {
  for (const auto& h : result.hosts) {
    Reporter::Color color = h.state == HostOutcome::State::kFailed       ? Reporter::Color::kRed
                            : h.state == HostOutcome::State::kRolledBack ? Reporter::Color::kYellow
                                                                         : Reporter::Color::kGreen;
    reporter.text(fmt::format("  {:<16} {}{}", h.host, reporter.paint(outcome_name(h.state), color),
                              h.detail.empty() ? "" : ": " + h.detail));
  }
}

// What the approvals checked before the lock covered.
struct Approved {
  std::string digest;
  ApprovalStatus status;
};

bool needs_approvals(const ChangeContext& context, const ChangeRequest& request) {
  // A rollback is how an incident ends: never held up by approvals.
  return context.targets.environment->approvals > 0 && request.kind != ChangeKind::kRollback;
}

// Before the lock and before any host changes: the plan as it would run
// now (read from the hosts, nothing changed), and enough valid approvals of
// exactly that plan.
Result<Approved> check_approved(const ChangeContext& context, const ChangeRequest& request) {
  const Environment& env = *context.targets.environment;
  if (request.ticket.empty()) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{} needs {} approval(s) of the change's ticket: give --ticket",
                            env.name, env.approvals));
  }
  auto preview = prepare_change(context, request);
  if (!preview) return tl::unexpected(preview.error());
  Approved approved{plan_digest(preview->plan), {}};
  auto status = read_approvals(context, request.ticket, approved.digest);
  if (!status) return tl::unexpected(status.error());
  if (!status->satisfied()) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{} needs {} approval(s) of plan {} for {}; it has {}. Approvers sign "
                            "it with: flotilla -e {} approve {} {}{}",
                            env.name, env.approvals, approved.digest.substr(0, 12), request.ticket,
                            describe_missing_approvals(*status), env.name, request.ticket,
                            request.unit, request.ref.empty() ? "" : " --ref " + request.ref));
  }
  approved.status = std::move(*status);
  return approved;
}

Result<Outcome> change_locked(const ChangeContext& context, const ChangeRequest& request,
                              DeployLock& lock, const std::optional<Approved>& approved) {
  Reporter& reporter = context.reporter;
  auto prepared = prepare_change(context, request);
  if (!prepared) return tl::unexpected(prepared.error());
  const DeployPlan& plan = prepared->plan;
  const std::string digest = plan_digest(plan);
  if (approved && approved->digest != digest) {
    // Someone changed the fleet between the check and the lock.
    return fail(ErrorKind::kBadInput,
                fmt::format("the plan changed since it was approved (now {}, approved {}); nothing "
                            "was changed: review it again with `plan`",
                            digest.substr(0, 12), approved->digest.substr(0, 12)));
  }
  const Unit& unit = prepared->unit();
  if (reporter.json()) {
    reporter.event("plan", plan.to_json());
  } else {
    print_plan(reporter, plan, unit);
  }
  if (!plan.complete()) {
    reporter.error("not every host is ready; nothing was changed");
    return plan_outcome(plan);
  }
  if (plan.batches.empty()) {
    reporter.text("nothing to do: every host is already there");
    reporter.event(
        "deploy_done",
        {{"ok", true}, {"kind", change_kind_name(plan.kind)}, {"summary", "nothing to do"}});
    return Outcome();
  }

  // Through a registry: the releases go up before any host changes; a
  // registry that cannot take them stops the change here.
  if (const auto& registry = context.targets.project->artifacts) {
    auto pull = publish_for_plan(*registry, plan, prepared->sources, reporter);
    if (!pull) {
      reporter.error(pull.error().message + "; nothing was changed");
      return Outcome(pull.error().kind);
    }
    prepared->sources.registry = std::move(*pull);
  }

  Snapshot snapshot = begin_snapshot(plan, request);
  snapshot.plan_digest = digest;
  if (approved) {
    for (const auto& c : approved->status.checked) {
      if (c.refused.empty()) {
        snapshot.approvals.push_back(
            {{"principal", c.principal}, {"key", c.key}, {"time", c.time}, {"message", c.message}});
      }
    }
  }
  auto id = lock.next_snapshot_id(prepared->highest_snapshot);
  if (!id) return tl::unexpected(id.error());
  snapshot.id = *id;
  Ledger ledger = ledger_of(context.targets);

  RolloutResult result;
  bool backup_failed = false;
  if (unit.backup_command && brings_new_build(plan.kind)) {
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
  // Saved before any host changes: a controller killed from here on leaves
  // a "running" record naming where each host was headed.
  if (auto saved = ledger.save(snapshot); !saved) return tl::unexpected(saved.error());
  reporter.event("snapshot", {{"id", snapshot.id}, {"kind", snapshot.kind}});
  Transport& transport = *prepared->fleet.transport;
  if (!backup_failed) {
    result = execute_rollout(plan, unit, prepared->sources, prepared->fleet.by_name, snapshot.id,
                             transport, reporter, context.interrupted);
  }
  end_snapshot(snapshot, plan, result);
  if (auto saved = ledger.save(snapshot); !saved) return tl::unexpected(saved.error());
  std::vector<Snapshot> history = prepared->history;
  history.push_back(snapshot);

  // After a Ctrl-C too: this round trip changes nothing a service sees, and
  // without it the hosts' history would miss the interrupted change.
  if (result.interrupted) transport.resume();
  record_on_hosts(*prepared, snapshot, history, reporter);

  report_hosts(reporter, result);
  std::string tail = fmt::format(" (snapshot {})", snapshot.id);
  if (result.ok) {
    reporter.text(reporter.paint("done: ", Reporter::Color::kGreen) + result.summary + tail);
    return Outcome();
  }
  reporter.error(result.summary + tail);
  return Outcome(ErrorKind::kFailed);
}

}  // namespace

Result<Outcome> run_change(const ChangeContext& context, const ChangeRequest& request) {
  // A missing secret stops the change before any host, the lock host
  // included, is touched.
  if (const Unit* unit = context.targets.project->unit(request.unit)) {
    if (auto secrets = read_secrets(*unit); !secrets) return tl::unexpected(secrets.error());
  }
  if (const auto& registry = context.targets.project->artifacts) {
    if (auto access = registry_access(*registry); !access) return tl::unexpected(access.error());
  }
  // A freeze window refuses a deploy before anything is touched; rollback
  // and hotfix are how an incident is fixed, and are never frozen out.
  if (request.kind == ChangeKind::kDeploy) {
    const Environment& env = *context.targets.environment;
    if (auto span = freeze_at(env, std::time(nullptr))) {
      if (request.override_freeze.empty()) {
        return fail(ErrorKind::kBadInput,
                    fmt::format("{} is frozen ({}; {}); rollback and hotfix still work, or deploy "
                                "with --override-freeze REASON, which the snapshot records",
                                env.name, describe_span(*span), span->window->text));
      }
      context.reporter.warning(fmt::format("deploying inside a freeze window ({}): {}",
                                           describe_span(*span), request.override_freeze));
    }
  }
  std::optional<Approved> approved;
  if (needs_approvals(context, request)) {
    auto checked = check_approved(context, request);
    if (!checked) return tl::unexpected(checked.error());
    approved = std::move(*checked);
    context.reporter.progress(
        fmt::format("approved by {}", fmt::join(approved->status.principals, ", ")));
  }
  auto environment_lock = open_environment_lock(context.targets, context.connect);
  if (!environment_lock) return tl::unexpected(environment_lock.error());
  DeployLock& lock = environment_lock->lock;
  auto holder = lock.acquire(request.ticket, describe_request(request), request.lock_wait);
  if (!holder) return tl::unexpected(holder.error());
  context.reporter.event("lock_acquired", {{"environment", context.targets.environment->name}});
  auto result = change_locked(context, request, lock, approved);
  if (auto released = lock.release(holder->token, false); !released) {
    context.reporter.error(
        fmt::format("could not release the deploy lock: {}", released.error().message));
  }
  return result;
}

}  // namespace flotilla
