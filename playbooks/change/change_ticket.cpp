#include "playbooks/change/change_ticket.hpp"
#include "snapshots/short_id.hpp"

#include <set>

#include <fmt/format.h>

#include "playbooks/analysis_result.hpp"
#include "playbooks/change/plan_digest.hpp"
#include "playbooks/change/record_signing.hpp"
#include "playbooks/freeze_window.hpp"
#include "snapshots/fleet_history.hpp"

namespace flotilla {
namespace {}  // namespace

ChangeTicket change_ticket(const ChangeContext& context, const ChangeRequest& request,
                           const PreparedChange& prepared, const ApprovalStatus& approvals,
                           std::int64_t now) {
  const Project& project = *context.targets.project;
  const Environment& env = *context.targets.environment;
  const DeployPlan& plan = prepared.plan;
  ChangeTicket t;
  t.ticket = request.ticket;
  t.environment = env.name;
  t.digest = plan_digest(plan);
  t.approvals = approvals;

  // The commits this change brings, from what the hosts run now.
  std::set<std::string> running;
  for (const auto& h : plan.hosts) {
    if (h.change && h.state.is_object()) running.insert(h.state.value("commit", ""));
  }
  if (plan.ref.commit.empty()) {
    t.commits_note = "no new build";
  } else if (auto git = GitSource::open(prepared.unit().source.repo, project.state_dir + "/git",
                                        context.git)) {
    for (const auto& from : running) {
      auto log = git->log_between(from, plan.ref.commit, 50);
      if (!log) {
        t.commits_note = log.error().message;
        continue;
      }
      for (auto& line : *log) {
        if (std::find(t.commits.begin(), t.commits.end(), line) == t.commits.end())
          t.commits.push_back(line);
      }
    }
    if (t.commits.empty() && t.commits_note.empty()) t.commits_note = "no commits between";
  } else {
    t.commits_note = git.error().message;
  }

  // Back to where the unit stands now: its newest succeeded snapshot.
  const Snapshot* now_at = nullptr;
  for (const auto& s : prepared.history) {
    if (s.succeeded()) now_at = &s;
  }
  if (now_at != nullptr) {
    t.rollback_command =
        fmt::format("flotilla -e {} rollback {} --to {}{}", env.name, plan.unit, now_at->id,
                    request.ticket.empty() ? "" : " --ticket " + request.ticket);
    t.rollback_note = fmt::format("snapshot {}: release {} ({})", now_at->id,
                                  short_id(now_at->artifact), now_at->finished);
  } else {
    t.rollback_note =
        "no earlier snapshot of this unit here: nothing to roll back to (first deploy)";
  }

  t.records = record_trust(context);
  if (auto frozen = freeze_at(env, now)) t.freeze_now = describe_span(*frozen);
  if (auto next = next_freeze(env, now)) t.freeze_next = describe_span(*next);
  bool frozen_out = !t.freeze_now.empty() && rules_of(plan.kind).frozen;
  if (env.require_ticket && request.ticket.empty()) t.missing.push_back("a ticket (--ticket)");
  if (env.approvals > 0 && rules_of(plan.kind).needs_approvals && !approvals.satisfied()) {
    t.missing.push_back(fmt::format("approvals: {}", describe_missing_approvals(approvals)));
  }
  t.rehearsal = rehearsal_evidence(*context.targets.project, env, request, plan, now);
  if (t.rehearsal.required && t.rehearsal.snapshot == 0) {
    t.missing.push_back(fmt::format("a rehearsal in {}: {}", t.rehearsal.in, t.rehearsal.missing));
  }
  if (frozen_out) {
    t.missing.push_back(
        fmt::format("the freeze to end ({}), or --override-freeze REASON", t.freeze_now));
  }
  for (const auto& h : plan.hosts) {
    if (h.error) t.missing.push_back(fmt::format("host {}: {}", h.host, h.error->message));
  }
  return t;
}

namespace {

// The ticket's header and what changes where.
std::string ticket_summary(const ChangeTicket& t, const PreparedChange& prepared) {
  const DeployPlan& plan = prepared.plan;
  const Unit& unit = prepared.unit();
  std::string md;
  auto line = [&md](const std::string& text = "") { md += text + "\n"; };
  line(fmt::format("# {}: {} {} in {}", t.ticket.empty() ? "(no ticket)" : t.ticket,
                   change_kind_name(plan.kind), plan.unit, plan.environment));
  line();
  line("| | |");
  line("|---|---|");
  line(fmt::format("| ticket | {} |", t.ticket.empty() ? "-" : t.ticket));
  line(fmt::format("| environment | {} |", plan.environment));
  line(fmt::format("| unit | {} ({}) |", plan.unit, unit_kind_name(unit.kind)));
  std::set<std::string> currents;
  std::size_t changing = 0;
  for (const auto& h : plan.hosts) {
    if (!h.change) continue;
    ++changing;
    currents.insert(short_id(h.current.value_or("")));
  }
  line(fmt::format("| from | {} |", fmt::join(currents, ", ")));
  line(fmt::format("| to | release {} — commit {}{} |", short_id(plan.artifact),
                   short_id(plan.ref.commit), plan.ref.branch ? " on " + *plan.ref.branch : ""));
  line(fmt::format("| plan digest | `{}` |", t.digest));
  line();
  line("## What changes");
  if (t.commits.empty()) line(fmt::format("- ({})", t.commits_note));
  for (const auto& c : t.commits) line(fmt::format("- `{}` {}", c.substr(0, 12), c.substr(13)));
  line();
  line(fmt::format("## Scope: {} of {} host(s) change", changing, plan.hosts.size()));
  for (const auto& h : plan.hosts) {
    line(fmt::format("- `{}`: {} → {}{}", h.host, short_id(h.current.value_or("")),
                     short_id(h.target.release),
                     h.error     ? " — NOT READY: " + h.error->message
                     : !h.change ? " (already there; untouched)"
                                 : ""));
  }
  line();
  return md;
}

// How it runs: push, batches, the failure rule.
std::string ticket_steps(const PreparedChange& prepared) {
  const DeployPlan& plan = prepared.plan;
  const Unit& unit = prepared.unit();
  std::string md;
  auto line = [&md](const std::string& text = "") { md += text + "\n"; };
  line("## Steps (no manual step)");
  line(fmt::format(
      "1. Push: {} to the hosts that lack it, {}; nothing restarts until every host "
      "has it.",
      format_bytes(plan.bytes_to_send),
      plan.bytes_from.empty() ? "over SSH from the controller" : "pulled from " + plan.bytes_from));
  line(fmt::format("2. Batches, each host: drain ({}), stop, switch, start, health check{}:",
                   format_duration(unit.drain.timeout),
                   unit.health
                       ? fmt::format(" `{}` (up to {} × {})", unit.health->command,
                                     unit.health->retries, format_duration(unit.health->interval))
                       : ""));
  for (std::size_t i = 0; i < plan.batches.size(); ++i) {
    line(fmt::format("   {}. {}{}", i + 1, plan.batches[i].canary ? "(canary) " : "",
                     fmt::join(plan.batches[i].hosts, ", ")));
  }
  if (auto balancer = describe_balancer_plan(unit); !balancer.empty()) {
    line(fmt::format("   The {}.", balancer));
  }
  line(fmt::format("3. Past {} failure(s) the failed batch goes back{}, and nothing else starts.",
                   unit.rollout.max_failures,
                   unit.rollout.auto_rollback ? " automatically" : " only by hand"));
  line();
  return md;
}

// How the change is judged once hosts serve: the unit's analysis and watch.
std::string ticket_analysis(const PreparedChange& prepared) {
  const Unit& unit = prepared.unit();
  std::string md = "## Analysis\n";
  auto line = [&md](const std::string& text = "") { md += text + "\n"; };
  const bool judged = rules_of(prepared.plan.kind).judged_by_analysis;
  if (!unit.analysis || !judged) {
    line(unit.analysis ? "- not judged: a rollback or a restore is how trouble ends"
                       : "- none declared: batches pass on their health checks alone");
    line();
    return md;
  }
  const AnalysisSpec& a = *unit.analysis;
  if (!a.metrics.empty()) {
    line(
        fmt::format("- asked of {} through the canary's bake and after every batch: {} "
                    "measurement(s), one every {}; a step fails past {} failed; no data is "
                    "`{}`",
                    a.prometheus, a.count, format_duration(a.interval), a.failure_limit,
                    inconclusive_name(a.inconclusive)));
    for (const auto& m : a.metrics) {
      line(fmt::format("- **{}**: `{}` {}{}", m.name, m.query, m.condition.text,
                       m.against_baseline ? " against the hosts not yet changed" : ""));
    }
    if (a.traffic) {
      line(
          fmt::format("- judged only above a floor of players: `{}` at least {} per host, "
                      "else the round is inconclusive",
                      a.traffic->query, figure(a.traffic->min)));
    }
    line(fmt::format("- a failed step {}; every measurement is kept in the snapshot",
                     unit.rollout.auto_rollback ? "sends its batch back" : "stops the change"));
  }
  if (unit.watch) {
    line(
        fmt::format("- watched for {} after the last batch: `{}` firing rolls the change back once",
                    format_duration(unit.watch->for_), unit.watch->alert));
  }
  line();
  return md;
}

nlohmann::json analysis_plan_json(const PreparedChange& prepared) {
  const Unit& unit = prepared.unit();
  if (!unit.analysis || !rules_of(prepared.plan.kind).judged_by_analysis) return nullptr;
  const AnalysisSpec& a = *unit.analysis;
  nlohmann::json metrics = metrics_json(a.metrics);
  nlohmann::json doc = {{"prometheus", a.prometheus},
                        {"interval", format_duration(a.interval)},
                        {"count", a.count},
                        {"failure_limit", a.failure_limit},
                        {"inconclusive", inconclusive_name(a.inconclusive)},
                        {"metrics", metrics}};
  if (unit.watch) {
    doc["watch"] = {{"for", format_duration(unit.watch->for_)}, {"alert", unit.watch->alert}};
  }
  return doc;
}

// What stands behind it: rollback, backups, approvals, rehearsal, freeze, records.
std::string ticket_safeguards(const ChangeTicket& t, const PreparedChange& prepared) {
  const DeployPlan& plan = prepared.plan;
  const Unit& unit = prepared.unit();
  std::string md;
  auto line = [&md](const std::string& text = "") { md += text + "\n"; };
  line("## Rollback plan");
  if (!t.rollback_command.empty()) line(fmt::format("`{}`", t.rollback_command));
  line(fmt::format("- {}; no rebuild, no artifact bytes move.", t.rollback_note));
  line();
  line("## Backups");
  line(unit.backup_command ? fmt::format("- `{}` runs before any host changes; a failed backup "
                                         "stops the change.",
                                         *unit.backup_command)
                           : "- none declared for this unit");
  line();
  line("## Approvals");
  if (t.approvals.required == 0) {
    line("- none required");
  } else {
    line(fmt::format("- {} of {} required", t.approvals.principals.size(), t.approvals.required));
    for (const auto& c : t.approvals.checked) {
      line(fmt::format("- {} ({}) {}{}", c.principal.empty() ? "?" : c.principal, c.time,
                       c.refused.empty() ? "approved" : "does not count: " + c.refused,
                       c.message.empty() ? "" : " — \"" + c.message + "\""));
    }
  }
  line();
  line("## Rehearsal");
  if (!t.rehearsal.required) {
    line("- none required");
  } else if (t.rehearsal.snapshot > 0) {
    line(
        fmt::format("- rehearsed in {}: snapshot {}, finished {}, from exactly what {} runs now "
                    "to exactly this artifact and config",
                    t.rehearsal.in, t.rehearsal.snapshot, t.rehearsal.finished, plan.environment));
  } else {
    line("- NOT rehearsed: " + t.rehearsal.missing);
  }
  line();
  line("## Freeze");
  line(t.freeze_now.empty() ? "- not frozen now" : "- FROZEN now: " + t.freeze_now);
  if (!t.freeze_next.empty()) line("- next window: " + t.freeze_next);
  line();
  line("## Records");
  line("- " + t.records);
  line();
  line("## Still missing before it may run");
  if (t.missing.empty()) line("- nothing");
  for (const auto& m : t.missing) line("- " + m);
  return md;
}

}  // namespace

std::string change_ticket_markdown(const ChangeTicket& t, const PreparedChange& prepared) {
  return ticket_summary(t, prepared) + ticket_steps(prepared) + ticket_analysis(prepared) +
         ticket_safeguards(t, prepared);
}

nlohmann::json change_ticket_json(const ChangeTicket& t, const PreparedChange& prepared) {
  nlohmann::json approvals = nlohmann::json::array();
  for (const auto& c : t.approvals.checked) {
    approvals.push_back({{"principal", c.principal},
                         {"key", c.key},
                         {"time", c.time},
                         {"message", c.message},
                         {"valid", c.refused.empty()},
                         {"refused", c.refused}});
  }
  nlohmann::json doc = prepared.plan.to_json();
  doc["balancer"] = balancer_plan(prepared.unit());
  doc["analysis"] = analysis_plan_json(prepared);
  doc["ticket"] = t.ticket;
  doc["plan_digest"] = t.digest;
  doc["commits"] = t.commits;
  doc["rollback"] = {{"command", t.rollback_command.empty() ? nlohmann::json()
                                                            : nlohmann::json(t.rollback_command)},
                     {"note", t.rollback_note}};
  doc["approvals"] = {{"required", t.approvals.required},
                      {"have", t.approvals.principals.size()},
                      {"approvals", approvals}};
  doc["freeze"] = {
      {"now", t.freeze_now.empty() ? nlohmann::json() : nlohmann::json(t.freeze_now)},
      {"next", t.freeze_next.empty() ? nlohmann::json() : nlohmann::json(t.freeze_next)}};
  doc["rehearsal"] = {{"required", t.rehearsal.required},
                      {"snapshot", t.rehearsal.snapshot > 0 ? nlohmann::json(t.rehearsal.snapshot)
                                                            : nlohmann::json()},
                      {"finished", t.rehearsal.finished},
                      {"missing", t.rehearsal.missing}};
  doc["records"] = t.records;
  doc["missing"] = t.missing;
  return doc;
}

}  // namespace flotilla
