#include "playbooks/change/unit_run.hpp"

#include <set>

#include <fmt/format.h>

#include "core/phase_times.hpp"
#include "playbooks/change/backup.hpp"
#include "playbooks/change/change_record.hpp"
#include "playbooks/change/plan_digest.hpp"
#include "playbooks/change/record_signing.hpp"
#include "playbooks/change/unit_analysis.hpp"
#include "playbooks/change/unit_balancer.hpp"
#include "playbooks/registry_publish.hpp"

namespace flotilla {
namespace {

// The snapshot as it opens: numbered, tagged with its release, the
// approvals that covered it, where a promote or rehearsal came from.
Snapshot opening_snapshot(const DeployPlan& plan, const ChangeRequest& request,
                          const UnitRunIds& ids, const std::optional<Approved>& approved,
                          std::int64_t now) {
  Snapshot snapshot = begin_snapshot(plan, request, now);
  snapshot.id = ids.snapshot;
  snapshot.release = ids.release;
  if (approved) {
    snapshot.plan_digest = approved->digest;
    for (const auto& c : approved->status.checked) {
      if (c.refused.empty()) {
        snapshot.approvals.push_back(
            {{"principal", c.principal}, {"key", c.key}, {"time", c.time}, {"message", c.message}});
      }
    }
  } else {
    snapshot.plan_digest = plan_digest(plan);
  }
  if (request.stored) snapshot.promoted_from = request.stored->environment;
  if (!request.rehearsal.is_null()) {
    snapshot.rehearsal = request.rehearsal;
    snapshot.rehearsal["to"] = {{"release", plan.artifact}, {"config", plan.config}};
  }
  return snapshot;
}

// The unit's backup, when its kind backs up first (a restore backs up what
// it is about to replace: it can be undone too). False when it failed:
// `result` then says that nothing was changed.
bool back_up_first(const PreparedChange& prepared, Snapshot& snapshot, RolloutResult& result,
                   Reporter& reporter, PhaseTimes& times, const std::string& prefix) {
  const DeployPlan& plan = prepared.plan;
  if (!prepared.unit().backup_command || !rules_of(plan.kind).backs_up_first ||
      plan.batches.empty()) {
    return true;
  }
  auto backup_started = PhaseTimes::Clock::now();
  auto backup = run_backup(prepared, reporter);
  times.add(prefix + "backup", seconds_since(backup_started));
  if (backup) {
    snapshot.backup = *backup;
    return true;
  }
  snapshot.backup = {{"error", backup.error().message}};
  result.ok = false;
  result.summary = backup.error().message + "; nothing was changed";
  for (const auto& h : plan.hosts) {
    result.hosts.push_back({h.host, HostOutcome::State::kNotStarted, ""});
  }
  return false;
}

// The closed record on the hosts: only those the rollout did not change
// when every activation recorded itself, else every host.
void record_everywhere(const PreparedChange& prepared, const Snapshot& snapshot,
                       const std::vector<Snapshot>& history,
                       const std::map<std::string, ActivationRecord>& records,
                       const RolloutResult& result, const RecordSigner& sign, Reporter& reporter) {
  const DeployPlan& plan = prepared.plan;
  Transport& transport = *prepared.fleet.transport;
  // After a Ctrl-C too: this round trip changes nothing a service sees, and
  // without it the hosts' history would miss the interrupted change.
  if (result.interrupted) transport.resume();
  InterruptHold hold(transport);  // a second Ctrl-C here would lose the record
  if (recorded_by_activations(prepared, records, result)) {
    // Only the hosts it did not change are left (their line says "unchanged").
    std::set<std::string> unchanged;
    for (const auto& h : plan.hosts) {
      if (!h.change) unchanged.insert(h.host);
    }
    record_on_hosts(prepared, snapshot, history, reporter, sign, &unchanged);
  } else {
    // Failed, interrupted, or secrets rotated: every host gets the final
    // line, which stands over one its activation wrote.
    record_on_hosts(prepared, snapshot, history, reporter, sign);
  }
}

// The unit's balancer, checked before any host changes: every changing
// host is a server of the backend on every balancer. A host already out of
// rotation is said: one this change restarts rejoins when its batch is
// done; another stays out.
Result<std::unique_ptr<HaproxySwitch>> balancer_for(const ChangeContext& context,
                                                    const PreparedChange& prepared) {
  auto balancer = connect_balancer(context, prepared.fleet);
  if (!balancer) return tl::unexpected(balancer.error());
  if (!*balancer) {
    context.reporter.warning(fmt::format(
        "units.{}.balancer.hosts: '{}' names no host of {}'s inventory: restarts here do not go "
        "through a balancer",
        prepared.unit().name, prepared.unit().balancer->hosts, context.targets.environment->name));
    return balancer;
  }
  std::vector<std::string> changing;
  for (const auto& h : prepared.plan.hosts) {
    if (h.change) changing.push_back(h.host);
  }
  std::vector<std::string> all;
  for (const auto& [name, host] : prepared.fleet.by_name) all.push_back(name);
  auto checked = (*balancer)->check(all);
  if (!checked) return tl::unexpected(checked.error());
  for (const auto& [host, where] : *checked) {
    bool restarts = std::find(changing.begin(), changing.end(), host) != changing.end();
    context.reporter.warning(fmt::format(
        "{} is out of rotation ({}); {}", host, where,
        restarts ? "it rejoins when its batch is done"
                 : fmt::format("this change leaves it there (`flotilla balancer ready {} -l {}` "
                               "puts it back)",
                               prepared.unit().name, host)));
  }
  return balancer;
}

void report_hosts(Reporter& reporter, const RolloutResult& result) {
  for (const auto& h : result.hosts) {
    Reporter::Color color = h.state == HostOutcome::State::kFailed       ? Reporter::Color::kRed
                            : h.state == HostOutcome::State::kRolledBack ? Reporter::Color::kYellow
                                                                         : Reporter::Color::kGreen;
    reporter.text(fmt::format("  {:<16} {}{}", h.host, reporter.paint(outcome_name(h.state), color),
                              h.detail.empty() ? "" : ": " + h.detail));
  }
}

}  // namespace

// Everything a change does under the lock once its plan is known and
// complete, for one unit of a release.
Result<UnitRun> run_unit(const ChangeContext& context, PreparedChange& prepared,
                         const ChangeRequest& request, const UnitRunIds& ids,
                         const std::optional<Approved>& approved, PhaseTimes& times,
                         const std::string& prefix, RolloutBoard* board) {
  Reporter& reporter = context.reporter;
  const DeployPlan& plan = prepared.plan;
  const Unit& unit = prepared.unit();
  UnitRun run{unit.name, {}, false, true, false, ErrorKind::kFailed};

  // Through a registry: the releases go up before any host changes; a
  // registry that cannot take them stops the change here.
  if (const auto& registry = context.targets.project->artifacts) {
    auto pull = publish_for_plan(*registry, plan, prepared.sources, reporter);
    if (!pull) {
      reporter.error(pull.error().message + "; nothing was changed");
      run.ok = false;
      run.failure = pull.error().kind;
      return run;
    }
    prepared.sources.registry = std::move(*pull);
  }

  std::unique_ptr<HaproxySwitch> balancer;
  if (unit.balancer && !plan.batches.empty()) {
    auto opened = balancer_for(context, prepared);
    if (!opened) {
      reporter.error(opened.error().message + "; nothing was changed");
      run.ok = false;
      run.failure = opened.error().kind;
      return run;
    }
    balancer = std::move(*opened);
  }

  Snapshot& snapshot = run.snapshot;
  snapshot = opening_snapshot(plan, request, ids, approved, context.clock->wall_seconds());
  Ledger ledger = ledger_of(context.targets);

  RolloutResult result;
  const bool backup_failed = !back_up_first(prepared, snapshot, result, reporter, times, prefix);
  // Each changing host records its part itself once healthy: a change that
  // succeeds everywhere makes no round trip after its last batch. Signed
  // here, before anything is saved or changed.
  const RecordSigner sign = [&context](Snapshot& s) { return sign_record(context, s); };
  auto signed_records = activation_records(prepared, snapshot, sign, context.clock->wall_seconds());
  if (!signed_records) return tl::unexpected(signed_records.error());
  const auto& records = *signed_records;
  // Saved before any host changes: a controller killed from here on leaves
  // a "running" record naming where each host was headed.
  if (auto saved = ledger.save(snapshot); !saved) return tl::unexpected(saved.error());
  reporter.event(
      "snapshot",
      {{"id", snapshot.id}, {"kind", change_kind_name(snapshot.kind)}, {"unit", unit.name}});
  Transport& transport = *prepared.fleet.transport;
  if (!backup_failed) {
    auto observer = reported_rollout(reporter, std::string(change_kind_name(plan.kind)),
                                     snapshot.id, plan.artifact);
    auto analysis = analysis_for(context, prepared, board);
    RolloutIo io{transport,           *observer,      *context.clock,
                 context.interrupted, balancer.get(), analysis ? analysis->judge.get() : nullptr};
    result = execute_rollout(plan, unit, prepared.sources, prepared.fleet.by_name, snapshot.id, io,
                             records);
  }
  for (const auto& [name, seconds] : result.phases) times.add(prefix + name, seconds);
  auto record_started = PhaseTimes::Clock::now();
  end_snapshot(snapshot, plan, result, context.clock->wall_seconds());
  if (auto saved = ledger.save(snapshot); !saved) return tl::unexpected(saved.error());
  std::vector<Snapshot> history = prepared.history;
  history.push_back(snapshot);

  record_everywhere(prepared, snapshot, history, records, result, sign, reporter);
  times.add(prefix + "record", seconds_since(record_started));

  report_hosts(reporter, result);
  std::string tail = fmt::format(" (snapshot {})", snapshot.id);
  run.ok = result.ok;
  run.interrupted = result.interrupted;
  run.changed = result.ok;
  if (result.ok) {
    reporter.text(reporter.paint("done: ", Reporter::Color::kGreen) + result.summary + tail);
  } else {
    reporter.error(result.summary + tail);
  }
  return run;
}

}  // namespace flotilla
