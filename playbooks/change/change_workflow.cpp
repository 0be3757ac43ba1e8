#include "playbooks/change/change_workflow.hpp"

#include <ctime>
#include <set>

#include <fmt/format.h>

#include "core/phase_times.hpp"
#include "playbooks/change/approvals.hpp"
#include "playbooks/change/backup.hpp"
#include "playbooks/change/change_record.hpp"
#include "playbooks/change/environment_lock.hpp"
#include "playbooks/change/plan_digest.hpp"
#include "playbooks/change/plan_report.hpp"
#include "playbooks/change/prepared_change.hpp"
#include "playbooks/change/record_signing.hpp"
#include "playbooks/change/rehearsal_check.hpp"
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

bool needs_approvals(const ChangeContext& context, const Release& release) {
  // A rollback is how an incident ends: never held up by approvals.
  if (context.targets.environment->approvals == 0) return false;
  return std::any_of(release.changes.begin(), release.changes.end(),
                     [](const ChangeRequest& r) { return rules_of(r.kind).needs_approvals; });
}

Result<Approved> check_approved(const ChangeContext& context, const Release& release,
                                const std::vector<PreparedChange>& preview) {
  const Environment& env = *context.targets.environment;
  const ChangeRequest& first = release.changes.front();
  if (first.ticket.empty()) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{} needs {} approval(s) of the change's ticket: give --ticket",
                            env.name, env.approvals));
  }
  Approved approved{release_digest(plans_of(preview)), {}};
  auto status = read_approvals(context, first.ticket, approved.digest);
  if (!status) return tl::unexpected(status.error());
  if (!status->satisfied()) {
    std::string units;
    for (const auto& r : release.changes) units += " " + r.unit;
    std::string what = first.stored        ? " --from " + first.stored->environment
                       : first.ref.empty() ? ""
                                           : " --ref " + first.ref;
    return fail(
        ErrorKind::kBadInput,
        fmt::format("{} needs {} approval(s) of plan {} for {}; it has {}. Approvers sign "
                    "it with: flotilla -e {} approve {}{}{}",
                    env.name, env.approvals, approved.digest.substr(0, 12), first.ticket,
                    describe_missing_approvals(*status), env.name, first.ticket, units, what));
  }
  approved.status = std::move(*status);
  return approved;
}

// Before any host changes, with the plans as they would run: approvals
// and rehearsal evidence, when the environment asks for them.
Result<std::optional<Approved>> check_gates(const ChangeContext& context, const Release& release,
                                            const std::vector<PreparedChange>& prepared) {
  if (auto rehearsed = check_rehearsed(*context.targets.project, *context.targets.environment,
                                       release.changes, prepared, context.clock->wall_seconds());
      !rehearsed) {
    return tl::unexpected(rehearsed.error());
  }
  if (!needs_approvals(context, release)) return std::optional<Approved>();
  auto approved = check_approved(context, release, prepared);
  if (!approved) return tl::unexpected(approved.error());
  return std::optional<Approved>(std::move(*approved));
}

// One unit's change, run: its snapshot and how it ended.
struct UnitRun {
  std::string unit;
  Snapshot snapshot;
  bool changed = false;  // some host changed and the change succeeded
  bool ok = true;
  bool interrupted = false;
  ErrorKind failure = ErrorKind::kFailed;
};

// Everything a change does under the lock once its plan is known and
// complete, for one unit of a release.
Result<UnitRun> run_unit(const ChangeContext& context, PreparedChange& prepared,
                         const ChangeRequest& request, long snapshot_id, long release_id,
                         const std::optional<Approved>& approved, PhaseTimes& times,
                         const std::string& prefix) {
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

  Snapshot& snapshot = run.snapshot;
  snapshot = begin_snapshot(plan, request);
  snapshot.id = snapshot_id;
  snapshot.release = release_id;
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
  Ledger ledger = ledger_of(context.targets);

  RolloutResult result;
  bool backup_failed = false;
  // A restore backs up what it is about to replace: it can be undone too.
  if (unit.backup_command && rules_of(plan.kind).backs_up_first && !plan.batches.empty()) {
    auto backup_started = PhaseTimes::Clock::now();
    auto backup = run_backup(prepared, reporter);
    times.add(prefix + "backup", seconds_since(backup_started));
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
  // Each changing host records its part itself once healthy: a change that
  // succeeds everywhere makes no round trip after its last batch. Signed
  // here, before anything is saved or changed.
  const RecordSigner sign = [&context](Snapshot& s) { return sign_record(context, s); };
  auto signed_records = activation_records(prepared, snapshot, sign);
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
    RolloutIo io{transport, *observer, *context.clock, context.interrupted};
    result = execute_rollout(plan, unit, prepared.sources, prepared.fleet.by_name, snapshot.id, io,
                             records);
  }
  for (const auto& [name, seconds] : result.phases) times.add(prefix + name, seconds);
  auto record_started = PhaseTimes::Clock::now();
  end_snapshot(snapshot, plan, result);
  if (auto saved = ledger.save(snapshot); !saved) return tl::unexpected(saved.error());
  std::vector<Snapshot> history = prepared.history;
  history.push_back(snapshot);

  // After a Ctrl-C too: this round trip changes nothing a service sees, and
  // without it the hosts' history would miss the interrupted change.
  if (result.interrupted) transport.resume();
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

// The newest succeeded snapshot of `unit` before snapshot `id`: where a
// change left it standing before.
std::optional<long> standing_before(const Ledger& ledger, const std::string& unit, long id) {
  auto history = ledger.list(unit);
  if (!history) return std::nullopt;
  std::optional<long> before;
  for (const auto& s : *history) {
    if (s.id < id && s.succeeded()) before = s.id;
  }
  return before;
}

// The units a failed release already changed go back where they stood
// before it, the last changed first. Each is a rollback of its own,
// prepared from the hosts as they are now.
Outcome undo_release(const ChangeContext& context, DeployLock& lock, const Release& release,
                     const std::vector<UnitRun>& runs, long release_id, long& highest,
                     PhaseTimes& times) {
  Reporter& reporter = context.reporter;
  Outcome outcome;
  std::set<std::string> done;
  Ledger ledger = ledger_of(context.targets);
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
    if (!it->changed || !done.insert(it->unit).second) continue;
    // Before its last change in this release: a rehearsal's unit goes back
    // to the state it was reset to, a released unit to where it stood.
    auto to = standing_before(ledger, it->unit, it->snapshot.id);
    if (!to) {
      reporter.error(fmt::format("{} ran nothing before this release: it stays on {}", it->unit,
                                 it->snapshot.artifact.substr(0, 12)));
      outcome.add(Outcome(ErrorKind::kFailed));
      continue;
    }
    reporter.progress(
        fmt::format("release {}: sending {} back to snapshot {}", release_id, it->unit, *to));
    ChangeRequest back;
    back.kind = ChangeKind::kRollback;
    back.unit = it->unit;
    back.to = *to;
    back.ticket = release.changes.front().ticket;
    auto prepared = prepare_change(context, back);
    if (!prepared || !prepared->plan.complete()) {
      reporter.error(fmt::format("could not send {} back: {}", it->unit,
                                 prepared ? "not every host answered" : prepared.error().message));
      outcome.add(Outcome(ErrorKind::kFailed));
      continue;
    }
    if (prepared->plan.batches.empty()) continue;
    auto id = lock.next_snapshot_id(std::max(highest, prepared->highest_snapshot));
    if (!id) {
      reporter.error(id.error().message);
      outcome.add(Outcome(ErrorKind::kFailed));
      continue;
    }
    highest = *id;
    auto run = run_unit(context, *prepared, back, *id, release_id, std::nullopt, times,
                        "undo " + back.unit + ": ");
    if (!run || !run->ok) outcome.add(Outcome(ErrorKind::kFailed));
  }
  return outcome;
}

// A freeze window refuses a deploy, a promote, a rehearsal or a config push
// before anything is touched, and again under the lock (a change queued
// with --lock-wait before a window opened must not run inside it);
// rollback, hotfix and restore are how an incident is fixed, and are never
// frozen out.
Result<void> check_freeze(const ChangeContext& context, const Release& release) {
  bool freezable = std::any_of(release.changes.begin(), release.changes.end(),
                               [](const ChangeRequest& r) { return rules_of(r.kind).frozen; });
  if (!freezable) return {};
  const Environment& env = *context.targets.environment;
  if (auto span = freeze_at(env, context.clock->wall_seconds())) {
    const std::string& reason = release.changes.front().override_freeze;
    if (reason.empty()) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("{} is frozen ({}; {}); rollback and hotfix still work, or deploy "
                              "with --override-freeze REASON, which the snapshot records",
                              env.name, describe_span(*span), span->window->text));
    }
    context.reporter.warning(
        fmt::format("changing inside a freeze window ({}): {}", describe_span(*span), reason));
  }
  return {};
}

Result<Outcome> release_locked(const ChangeContext& context, const Release& release,
                               DeployLock& lock, const std::optional<Approved>& approved,
                               PhaseTimes& times) {
  Reporter& reporter = context.reporter;
  // Again under the lock: the wait for it may have crossed into a window.
  if (auto frozen = check_freeze(context, release); !frozen) return tl::unexpected(frozen.error());
  times.begin("prepare");  // builds (or the cache), connections, one survey per host
  auto prepared = prepare_release(context, release.changes);
  times.end();
  if (!prepared) return tl::unexpected(prepared.error());
  if (approved) {
    std::string digest = release_digest(plans_of(*prepared));
    if (approved->digest != digest) {
      // Someone changed the fleet between the check and the lock.
      return fail(ErrorKind::kBadInput,
                  fmt::format("the plan changed since it was approved (now {}, approved {}); "
                              "nothing was changed: review it again with `plan`",
                              digest.substr(0, 12), approved->digest.substr(0, 12)));
    }
  }
  if (auto rehearsed = check_rehearsed(*context.targets.project, *context.targets.environment,
                                       release.changes, *prepared, context.clock->wall_seconds());
      !rehearsed) {
    return tl::unexpected(rehearsed.error());
  }

  bool complete = true, work = false;
  long highest = 0;
  for (const auto& p : *prepared) {
    complete = complete && p.plan.complete();
    work = work || !p.plan.batches.empty() || rules_of(p.plan.kind).recorded_unchanged;
    highest = std::max(highest, p.highest_snapshot);
  }
  // A unit that appears again (a rehearsal's reset, then its change) is
  // planned again once its first change ran.
  std::set<std::string> units_seen;
  std::vector<bool> replan(release.changes.size(), false);
  for (std::size_t i = 0; i < release.changes.size(); ++i) {
    replan[i] = !units_seen.insert(release.changes[i].unit).second;
    work = work || replan[i];
  }
  if (!complete || !work) {
    for (const auto& p : *prepared) {
      if (reporter.json()) {
        reporter.event("plan", p.plan.to_json());
      } else {
        print_plan(reporter, p.plan, p.unit());
      }
    }
    if (!complete) {
      reporter.error("not every host is ready; nothing was changed");
      Outcome outcome;
      for (const auto& p : *prepared) outcome.add(plan_outcome(p.plan));
      return outcome;
    }
    reporter.text("nothing to do: every host is already there");
    reporter.event("deploy_done", {{"ok", true},
                                   {"kind", change_kind_name(release.changes.front().kind)},
                                   {"summary", "nothing to do"}});
    return Outcome();
  }

  // The release's id is its first snapshot's, taken now so every event of
  // the release carries it.
  auto first_id = lock.next_snapshot_id(highest);
  if (!first_id) return tl::unexpected(first_id.error());
  const long release_id = *first_id;
  highest = release_id;
  bool multi = release.changes.size() > 1;
  reporter.tag_events("release", release_id);
  if (multi) {
    reporter.text(reporter.paint(fmt::format("release {}: {}", release_id, release.description),
                                 Reporter::Color::kBold));
    reporter.event("release_started", {{"units",
                                        [&] {
                                          nlohmann::json units = nlohmann::json::array();
                                          for (const auto& r : release.changes)
                                            units.push_back(r.unit);
                                          return units;
                                        }()},
                                       {"description", release.description}});
  }

  std::vector<UnitRun> runs;
  bool failed = false;
  bool interrupted = false;
  ErrorKind failure = ErrorKind::kFailed;
  bool first_snapshot_used = false;
  for (std::size_t i = 0; i < release.changes.size() && !failed; ++i) {
    const ChangeRequest& request = release.changes[i];
    PreparedChange* current = &(*prepared)[i];
    std::optional<PreparedChange> again;
    if (replan[i]) {
      auto fresh = prepare_change(context, request);
      if (!fresh) {
        reporter.error(fresh.error().message);
        failed = true;
        failure = fresh.error().kind;
        break;
      }
      again = std::move(*fresh);
      current = &*again;
    }
    if (reporter.json()) {
      reporter.event("plan", current->plan.to_json());
    } else {
      print_plan(reporter, current->plan, current->unit());
    }
    if (!current->plan.complete()) {
      reporter.error(fmt::format("{}: not every host is ready", request.unit));
      failed = true;
      break;
    }
    if (current->plan.batches.empty() && !rules_of(request.kind).recorded_unchanged) {
      reporter.text(fmt::format("{}: nothing to do, every host is already there", request.unit));
      continue;
    }
    long id = 0;
    if (!first_snapshot_used) {
      id = release_id;
      first_snapshot_used = true;
    } else {
      auto next = lock.next_snapshot_id(std::max(highest, current->highest_snapshot));
      if (!next) return tl::unexpected(next.error());
      id = *next;
    }
    highest = std::max(highest, id);
    auto run = run_unit(context, *current, request, id, release_id, approved, times,
                        multi ? request.unit + ": " : "");
    if (!run) return tl::unexpected(run.error());
    failed = !run->ok;
    interrupted = run->interrupted;
    failure = run->failure;
    runs.push_back(std::move(*run));
  }

  Outcome outcome;
  if (failed) outcome.add(Outcome(failure));
  if (failed && multi && !interrupted) {
    bool changed =
        std::any_of(runs.begin(), runs.end(), [](const UnitRun& r) { return r.changed; });
    if (changed && release.rollback_on_failure) {
      outcome.add(undo_release(context, lock, release, runs, release_id, highest, times));
      reporter.error(
          fmt::format("release {} failed; the units it had changed were sent back "
                      "(release_failure: rollback)",
                      release_id));
    } else if (changed) {
      reporter.error(
          fmt::format("release {} failed; the units it had changed stay where they "
                      "are (release_failure: stop)",
                      release_id));
    }
  }
  if (multi) {
    reporter.event("release_done", {{"ok", !failed}, {"units", runs.size()}});
    if (!failed) {
      reporter.text(
          reporter.paint(fmt::format("release {} done", release_id), Reporter::Color::kGreen));
    }
  }
  return outcome;
}

// Checks that need no host: secrets readable, the registry's credentials,
// freeze windows.
Result<void> check_offline(const ChangeContext& context, const Release& release) {
  const Project& project = *context.targets.project;
  for (const auto& request : release.changes) {
    // A missing secret stops the change before any host, the lock host
    // included, is touched.
    if (const Unit* unit = project.unit(request.unit)) {
      if (auto secrets = read_secrets(*unit); !secrets) return tl::unexpected(secrets.error());
    }
  }
  if (const auto& registry = project.artifacts) {
    if (auto access = registry_access(*registry); !access) return tl::unexpected(access.error());
  }
  if (auto recorder = check_recorder(context); !recorder) return recorder;
  return check_freeze(context, release);
  return {};
}

}  // namespace

Result<Outcome> run_release(const ChangeContext& context, const Release& release) {
  if (release.changes.empty()) return fail(ErrorKind::kBadInput, "nothing to change");
  if (auto ok = check_offline(context, release); !ok) return tl::unexpected(ok.error());
  std::optional<Approved> approved;
  if (needs_approvals(context, release) ||
      needs_rehearsal(*context.targets.environment, release.changes)) {
    // The plans as they would run now (read from the hosts, nothing changed).
    auto preview = prepare_release(context, release.changes);
    if (!preview) return tl::unexpected(preview.error());
    auto gates = check_gates(context, release, *preview);
    if (!gates) return tl::unexpected(gates.error());
    approved = std::move(*gates);
    if (approved) {
      context.reporter.progress(
          fmt::format("approved by {}", fmt::join(approved->status.principals, ", ")));
    }
  }
  PhaseTimes times;
  times.add("start", seconds_since(process_start()));
  times.begin("lock");
  auto environment_lock = open_environment_lock(context.targets, context.connect, *context.clock);
  if (!environment_lock) return tl::unexpected(environment_lock.error());
  DeployLock& lock = environment_lock->lock;
  const ChangeRequest& first = release.changes.front();
  auto holder = lock.acquire(first.ticket, release.description, first.lock_wait);
  if (!holder) return tl::unexpected(holder.error());
  times.end();
  context.reporter.event("lock_acquired", {{"environment", context.targets.environment->name}});
  // Nothing that goes wrong under the lock leaves it held: an exception
  // (a malformed value a host sent that a check missed) ends the change as
  // a failure, and the lock is released below.
  Result<Outcome> result = [&]() -> Result<Outcome> {
    try {
      return release_locked(context, release, lock, approved, times);
    } catch (const std::exception& e) {
      return fail(ErrorKind::kFailed, fmt::format("the change stopped on an internal error ({}); "
                                                  "the lock is released, check `status`",
                                                  e.what()));
    }
  }();
  // Where the time went, on every change that got this far.
  context.reporter.event("phases", times.to_json());
  context.reporter.text("time: " + times.summary());
  if (auto released = lock.release(holder->token, false); !released) {
    context.reporter.error(
        fmt::format("could not release the deploy lock: {}", released.error().message));
  }
  return result;
}

Result<Outcome> run_change(const ChangeContext& context, const ChangeRequest& request) {
  Release release;
  release.changes = {request};
  release.rollback_on_failure = context.targets.project->release_failure_rollback;
  release.description = describe_request(request);
  return run_release(context, release);
}

}  // namespace flotilla
