#include "playbooks/change/change_workflow.hpp"

#include <ctime>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "core/phase_times.hpp"
#include "playbooks/change/approvals.hpp"
#include "playbooks/change/background_watch.hpp"
#include "playbooks/change/backup.hpp"
#include "playbooks/change/change_load_test.hpp"
#include "playbooks/change/change_watch.hpp"
#include "playbooks/change/plan_digest.hpp"
#include "playbooks/change/plan_report.hpp"
#include "playbooks/change/prepared_change.hpp"
#include "playbooks/change/record_signing.hpp"
#include "playbooks/change/rehearsal_check.hpp"
#include "playbooks/change/release_undo.hpp"
#include "playbooks/change/rollout_decision.hpp"
#include "playbooks/change/soak_check.hpp"
#include "playbooks/change/unit_run.hpp"
#include "playbooks/freeze_window.hpp"
#include "playbooks/lock_host/lock_host.hpp"
#include "playbooks/lock_host/rollout_board.hpp"
#include "playbooks/registry_publish.hpp"
#include "playbooks/secret_bundle.hpp"

namespace flotilla {

namespace {

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

// The rehearsal and the soak the environment asks for, for these plans.
Result<void> check_evidence(const ChangeContext& context, const Release& release,
                            const std::vector<PreparedChange>& prepared) {
  const Project& project = *context.targets.project;
  const Environment& env = *context.targets.environment;
  const std::int64_t now = context.clock->wall_seconds();
  if (auto rehearsed = check_rehearsed(project, env, release.changes, prepared, now); !rehearsed) {
    return rehearsed;
  }
  return check_soaked(project, env, release.changes, prepared, now);
}

// Before any host changes, with the plans as they would run: approvals,
// rehearsal and soak evidence, when the environment asks for them.
Result<std::optional<Approved>> check_gates(const ChangeContext& context, const Release& release,
                                            const std::vector<PreparedChange>& prepared) {
  if (auto evidence = check_evidence(context, release, prepared); !evidence) {
    return tl::unexpected(evidence.error());
  }
  if (!needs_approvals(context, release)) return std::optional<Approved>();
  auto approved = check_approved(context, release, prepared);
  if (!approved) return tl::unexpected(approved.error());
  return std::optional<Approved>(std::move(*approved));
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

// Under the lock, before any host changes: freezes again (the wait for
// the lock may have crossed into a window), every unit prepared, the plans
// still the ones approved, the rehearsal and soak evidence.
Result<std::vector<PreparedChange>> prepare_locked(const ChangeContext& context,
                                                   const Release& release,
                                                   const std::optional<Approved>& approved,
                                                   PhaseTimes& times) {
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
  if (auto evidence = check_evidence(context, release, *prepared); !evidence) {
    return tl::unexpected(evidence.error());
  }
  return prepared;
}

void show_plan(Reporter& reporter, const PreparedChange& prepared) {
  if (reporter.json()) {
    nlohmann::json plan = prepared.plan.to_json();
    plan["balancer"] = balancer_plan(prepared.unit());
    reporter.event("plan", plan);
  } else {
    print_plan(reporter, prepared.plan, prepared.unit());
  }
}

// A unit that appears again (a rehearsal's reset, then its change) is
// planned again once its first change ran.
std::vector<bool> units_to_replan(const Release& release) {
  std::set<std::string> units_seen;
  std::vector<bool> replan(release.changes.size(), false);
  for (std::size_t i = 0; i < release.changes.size(); ++i) {
    replan[i] = !units_seen.insert(release.changes[i].unit).second;
  }
  return replan;
}

// When not every host is ready, or no unit has anything to do: the plans
// and what the release ends with, before any snapshot is numbered.
std::optional<Outcome> without_work(Reporter& reporter, const Release& release,
                                    const std::vector<PreparedChange>& prepared,
                                    const std::vector<bool>& replan) {
  bool complete = true;
  bool work = std::find(replan.begin(), replan.end(), true) != replan.end();
  for (const auto& p : prepared) {
    complete = complete && p.plan.complete();
    work = work || !p.plan.batches.empty() || rules_of(p.plan.kind).recorded_unchanged;
  }
  if (complete && work) return std::nullopt;
  for (const auto& p : prepared) show_plan(reporter, p);
  if (!complete) {
    reporter.error("not every host is ready; nothing was changed");
    Outcome outcome;
    for (const auto& p : prepared) outcome.add(plan_outcome(p.plan));
    return outcome;
  }
  reporter.text("nothing to do: every host is already there");
  reporter.event("deploy_done", {{"ok", true},
                                 {"kind", change_kind_name(release.changes.front().kind)},
                                 {"summary", "nothing to do"}});
  return Outcome();
}

// How far a release's units got.
struct ReleaseProgress {
  std::vector<UnitRun> runs;
  bool failed = false;
  bool interrupted = false;
  ErrorKind failure = ErrorKind::kFailed;
};

// The release's units in order, each numbered by the lock host's counter
// (the first takes the release's id), until one fails.
Result<ReleaseProgress> run_units(const ChangeContext& context, const Release& release,
                                  std::vector<PreparedChange>& prepared, DeployLock& lock,
                                  RolloutBoard& board, const std::optional<Approved>& approved,
                                  long release_id, long& highest, PhaseTimes& times) {
  Reporter& reporter = context.reporter;
  const std::vector<bool> replan = units_to_replan(release);
  const bool multi = release.changes.size() > 1;
  ReleaseProgress progress;
  bool first_snapshot_used = false;
  for (std::size_t i = 0; i < release.changes.size() && !progress.failed; ++i) {
    const ChangeRequest& request = release.changes[i];
    PreparedChange* current = &prepared[i];
    std::optional<PreparedChange> again;
    if (replan[i]) {
      auto fresh = prepare_change(context, request);
      if (!fresh) {
        reporter.error(fresh.error().message);
        progress.failed = true;
        progress.failure = fresh.error().kind;
        break;
      }
      again = std::move(*fresh);
      current = &*again;
    }
    show_plan(reporter, *current);
    if (!current->plan.complete()) {
      reporter.error(fmt::format("{}: not every host is ready", request.unit));
      progress.failed = true;
      break;
    }
    if (current->plan.batches.empty() && !rules_of(request.kind).recorded_unchanged) {
      reporter.text(fmt::format("{}: nothing to do, every host is already there", request.unit));
      continue;
    }
    long id = release_id;
    if (first_snapshot_used) {
      auto next = lock.next_snapshot_id(std::max(highest, current->highest_snapshot));
      if (!next) return tl::unexpected(next.error());
      id = *next;
    }
    first_snapshot_used = true;
    highest = std::max(highest, id);
    auto run = run_unit(context, *current, request, {id, release_id}, approved, times,
                        multi ? request.unit + ": " : "", &board);
    if (!run) return tl::unexpected(run.error());
    progress.failed = !run->ok;
    progress.interrupted = run->interrupted;
    progress.failure = run->failure;
    progress.runs.push_back(std::move(*run));
  }
  return progress;
}

void announce_release(Reporter& reporter, const Release& release, long release_id) {
  reporter.text(reporter.paint(fmt::format("release {}: {}", release_id, release.description),
                               Reporter::Color::kBold));
  nlohmann::json units = nlohmann::json::array();
  for (const auto& r : release.changes) units.push_back(r.unit);
  reporter.event("release_started", {{"units", units}, {"description", release.description}});
}

// --no-wait: the watches (and what follows them) go on in a background
// process; this one returns from go_on_in_background only there, or when
// nothing could be forked (then it watches here).
void watch_in_background(const ChangeContext& context, const std::vector<UnitRun>& runs,
                         DeployLock& lock, const LockHolder& holder, long release_id) {
  std::vector<std::string> watched;
  for (const auto& run : runs) {
    if (will_watch(context, run)) watched.push_back(run.unit);
  }
  if (!context.no_wait || watched.empty()) return;
  const Project& project = *context.targets.project;
  std::error_code ec;
  const std::string dir =
      (std::filesystem::absolute(project.state_dir, ec) / context.targets.environment->name)
          .string();
  std::filesystem::create_directories(dir, ec);
  const std::string log = fmt::format("{}/watch-{}.log", dir, release_id);
  if (auto background = go_on_in_background(context, lock, holder, watched, log); !background) {
    context.reporter.warning(background.error().message + "; watching here instead");
  }
}

Result<Outcome> release_locked(const ChangeContext& context, const Release& release,
                               DeployLock& lock, const LockHolder& holder, RolloutBoard& board,
                               const std::optional<Approved>& approved, PhaseTimes& times) {
  Reporter& reporter = context.reporter;
  auto prepared = prepare_locked(context, release, approved, times);
  if (!prepared) return tl::unexpected(prepared.error());
  if (auto ended = without_work(reporter, release, *prepared, units_to_replan(release))) {
    return *ended;
  }
  long highest = 0;
  for (const auto& p : *prepared) highest = std::max(highest, p.highest_snapshot);
  // The release's id is its first snapshot's, taken now so every event of
  // the release carries it.
  auto first_id = lock.next_snapshot_id(highest);
  if (!first_id) return tl::unexpected(first_id.error());
  const long release_id = *first_id;
  highest = release_id;
  const bool multi = release.changes.size() > 1;
  reporter.tag_events("release", release_id);
  if (multi) announce_release(reporter, release, release_id);

  auto progress =
      run_units(context, release, *prepared, lock, board, approved, release_id, highest, times);
  if (!progress) return tl::unexpected(progress.error());
  const auto& runs = progress->runs;
  Outcome outcome;
  if (progress->failed) outcome.add(Outcome(progress->failure));
  if (progress->failed && multi && !progress->interrupted) {
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
  if (!progress->failed) {
    // Still under the lock: each unit's watch, when it has one, then the
    // load tests where they run (on what the watch let stand).
    watch_in_background(context, runs, lock, holder, release_id);
    Outcome watched;
    for (const auto& run : runs) {
      watched.add(watch_after_change(context, lock, board, run, 0, highest, times));
    }
    outcome.add(watched);
    if (watched.ok())
      outcome.add(load_test_after_change(context, progress->runs, *prepared, times));
  }
  if (multi) {
    reporter.event("release_done", {{"ok", !progress->failed}, {"units", runs.size()}});
    if (!progress->failed) {
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
}

}  // namespace

Result<Outcome> run_release(const ChangeContext& context, const Release& release) {
  if (release.changes.empty()) return fail(ErrorKind::kBadInput, "nothing to change");
  if (auto ok = check_offline(context, release); !ok) return tl::unexpected(ok.error());
  std::optional<Approved> approved;
  if (needs_approvals(context, release) ||
      needs_rehearsal(*context.targets.environment, release.changes) ||
      needs_soak(*context.targets.environment, release.changes)) {
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
  RolloutBoard board(*environment_lock->transport, 0, context.targets.environment->name);
  const ChangeRequest& first = release.changes.front();
  Duration lock_wait = first.lock_wait;
  // A person's rollback ends a watch of its unit that holds the lock, and
  // waits for the watch to let go.
  const Unit* first_unit = context.targets.project->unit(first.unit);
  if (first.kind == ChangeKind::kRollback && first_unit && first_unit->watch &&
      end_watch_of(context, board, first.unit)) {
    lock_wait = std::max<Duration>(lock_wait, std::chrono::minutes(2));
  }
  auto holder = lock.acquire(first.ticket, release.description, lock_wait);
  if (!holder) return tl::unexpected(holder.error());
  times.end();
  context.reporter.event("lock_acquired", {{"environment", context.targets.environment->name}});
  // Nothing that goes wrong under the lock leaves it held: an exception
  // (a malformed value a host sent that a check missed) ends the change as
  // a failure, and the lock is released below.
  Result<Outcome> result = [&]() -> Result<Outcome> {
    try {
      return release_locked(context, release, lock, *holder, board, approved, times);
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
