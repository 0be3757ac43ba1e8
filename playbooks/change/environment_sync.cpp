#include "playbooks/change/environment_sync.hpp"

#include <fmt/format.h>

#include "playbooks/change/unit_fleet.hpp"
#include "snapshots/drift.hpp"
#include "snapshots/fleet_history.hpp"
#include "snapshots/short_id.hpp"

namespace flotilla {
namespace {

bool qualifies(const Snapshot& s, FollowRule::When when) {
  if (!s.succeeded() || s.kind == ChangeKind::kRestore) return false;
  return when == FollowRule::When::kSucceeded || verified_by_analysis(s);
}

std::vector<std::string> units_in_order(const Project& project) {
  std::vector<std::string> units = project.release_order;
  if (units.empty()) {
    for (const auto& u : project.units) units.push_back(u.name);
  }
  return units;
}

// What the followed environment's newest qualifying change of `unit` left
// there, checked against what its hosts run now. nullopt (with `why`) when
// nothing qualifies; kBadInput when the hosts disagree.
Result<std::optional<SyncUnit>> followed_state(const ChangeContext& source, const FollowRule& rule,
                                               const std::string& unit, std::string& why) {
  const std::string& env = source.targets.environment->name;
  auto fleet = connect_unit(source, unit);
  if (!fleet) {
    if (fleet.error().kind == ErrorKind::kBadInput) {  // the unit has no hosts there
      why = fmt::format("{}: {} has no hosts of it", unit, env);
      return std::optional<SyncUnit>();
    }
    return tl::unexpected(fleet.error());
  }
  auto reading = survey_and_sync(source, *fleet, ledger_of(source.targets));
  if (!reading) return tl::unexpected(reading.error());
  std::vector<Snapshot> history;
  for (const auto& s : reading->ledger) {
    if (s.unit == unit) history.push_back(s);
  }
  auto newest = std::find_if(history.rbegin(), history.rend(),
                             [&rule](const Snapshot& s) { return qualifies(s, rule.when); });
  if (newest == history.rend()) {
    why = fmt::format(
        "{}: {} never {} with it", unit, env,
        rule.when == FollowRule::When::kVerified ? "verified a change (analysis)" : "succeeded");
    return std::optional<SyncUnit>();
  }
  auto positions = fleet_at(history, newest->id);
  StoredTarget target;
  target.environment = env;
  target.snapshot = newest->id;
  // Every host of the unit there, as its processes and state file say now.
  std::vector<std::string> disagree;
  const bool supervised = !fleet->unit->run.empty();
  for (std::size_t i = 0; i < fleet->plan_hosts.size(); ++i) {
    const std::string& host = fleet->plan_hosts[i].name;
    auto p = positions.find(host);
    const Result<Survey>& survey = reading->surveys[i];
    if (!survey) {
      disagree.push_back(fmt::format("{} (unreachable: {})", host, survey.error().message));
      continue;
    }
    if (p == positions.end() || p->second.release.empty()) {
      disagree.push_back(fmt::format("{} (change {} left nothing there)", host, newest->id));
      continue;
    }
    if (target.release.empty()) {
      target.release = p->second.release;
      target.config = p->second.config;
      target.commit = p->second.commit;
      target.branch = p->second.branch;
    } else if (p->second.release != target.release || p->second.config != target.config) {
      disagree.push_back(fmt::format("{} (change {} left it on {})", host, newest->id,
                                     short_id(p->second.release, "nothing")));
      continue;
    }
    auto drift = drift_of(survey->state, &p->second, supervised);
    if (!drift.empty()) {
      disagree.push_back(fmt::format("{} ({})", host, fmt::join(drift, "; ")));
    }
  }
  if (!disagree.empty()) {
    return fail(
        ErrorKind::kBadInput,
        fmt::format("{}'s hosts disagree on {}: its newest {} change ({}, snapshot {}) "
                    "left {}, but {}; nothing was changed. Finish or roll back {} first",
                    env, unit, follow_when_name(rule.when), short_id(target.release, "?"),
                    newest->id, short_id(target.release, "?"), fmt::join(disagree, ", "), env));
  }
  return std::optional<SyncUnit>(SyncUnit{unit, std::move(target), newest->ticket});
}

}  // namespace

bool verified_by_analysis(const Snapshot& snapshot) {
  if (!snapshot.analysis.is_array() || snapshot.analysis.empty()) return false;
  return std::all_of(snapshot.analysis.begin(), snapshot.analysis.end(),
                     [](const nlohmann::json& step) {
                       return step.is_object() && step.value("verdict", "") == "passed";
                     });
}

Result<SyncPlan> plan_sync(const ChangeContext& context) {
  const Project& project = *context.targets.project;
  const Environment& env = *context.targets.environment;
  if (!env.follows) {
    return fail(ErrorKind::kBadInput,
                located(project.path, env.mark,
                        fmt::format("{} follows no environment: add `follows: {{env: ENV, when: "
                                    "succeeded}}` to environments.{} (what sync takes from)",
                                    env.name, env.name)));
  }
  const FollowRule& rule = *env.follows;
  if (!context.other_environment) {
    return fail(ErrorKind::kBadInput, fmt::format("sync cannot reach {}", rule.env));
  }
  auto other = context.other_environment(rule.env);
  if (!other) return tl::unexpected(other.error());
  SyncPlan plan;
  plan.source = rule.env;
  plan.when = follow_when_name(rule.when);
  for (const auto& unit : units_in_order(project)) {
    std::string why;
    auto state = followed_state((*other)->context(), rule, unit, why);
    if (!state) return tl::unexpected(state.error());
    if (!*state) {
      plan.skipped.push_back(why);
      continue;
    }
    plan.units.push_back(std::move(**state));
  }
  if (plan.units.empty()) {
    return fail(ErrorKind::kBadInput, fmt::format("nothing to sync from {}: {}", rule.env,
                                                  fmt::join(plan.skipped, "; ")));
  }
  return plan;
}

Release sync_release(const Project& project, const SyncPlan& plan, const ChangeRequest& base) {
  Release release;
  release.rollback_on_failure = project.release_failure_rollback;
  std::vector<std::string> names;
  for (const auto& u : plan.units) {
    ChangeRequest r = base;
    r.kind = ChangeKind::kDeploy;
    r.unit = u.unit;
    r.stored = u.target;
    r.cause = "sync:" + plan.source;
    // The change it brings was made under a ticket there; a unit that
    // requires one (payment) gets that one, as a person promoting would give.
    if (r.ticket.empty()) r.ticket = u.ticket;
    release.changes.push_back(std::move(r));
    names.push_back(u.unit);
  }
  release.description = fmt::format("sync {} from {}", fmt::join(names, " "), plan.source);
  return release;
}

}  // namespace flotilla
