#include "playbooks/pipeline_view.hpp"

#include <fmt/format.h>

#include "core/duration.hpp"
#include "core/time_zone.hpp"
#include "playbooks/change/soak_check.hpp"
#include "playbooks/freeze_window.hpp"
#include "playbooks/pipeline_log.hpp"
#include "snapshots/fleet_history.hpp"
#include "snapshots/ledger.hpp"
#include "snapshots/short_id.hpp"

namespace flotilla {
namespace {

// What the newest succeeded change left on the unit's hosts there.
struct Running {
  std::string release, config, commit, branch;
  long snapshot = 0;
  std::string since;
  bool mixed = false;  // its hosts run different releases
};

std::optional<Running> running_of(const std::vector<Snapshot>& history) {
  auto newest = std::find_if(history.rbegin(), history.rend(),
                             [](const Snapshot& s) { return s.succeeded(); });
  if (newest == history.rend()) return std::nullopt;
  Running out;
  out.snapshot = newest->id;
  for (const auto& [host, p] : fleet_at(history, newest->id)) {
    if (p.release.empty()) continue;
    if (!out.release.empty() && (p.release != out.release || p.config != out.config)) {
      out.mixed = true;
    }
    if (out.release.empty()) {
      out.release = p.release;
      out.config = p.config;
      out.commit = p.commit;
      out.branch = p.branch;
    }
  }
  if (out.release.empty()) return std::nullopt;
  // Since when: the oldest change of the unbroken run that kept it there.
  out.since = newest->finished;
  for (auto it = newest; it != history.rend(); ++it) {
    if (!it->succeeded()) break;
    auto fleet = fleet_at(history, it->id);
    bool same = !fleet.empty() && std::all_of(fleet.begin(), fleet.end(), [&out](const auto& p) {
      return p.second.release == out.release && p.second.config == out.config;
    });
    if (!same) break;
    out.since = it->finished;
  }
  return out;
}

std::vector<Snapshot> history_of(const Project& project, const std::string& env,
                                 const std::string& unit) {
  auto history = Ledger(project.state_dir, env).list(unit);
  return history ? *history : std::vector<Snapshot>();
}

nlohmann::json gate(const std::string& name, bool ok, const std::string& detail) {
  return {{"gate", name}, {"ok", ok}, {"detail", detail}};
}

// A succeeded rehearsal in `rule.in` that rehearsed `env` going to this release.
nlohmann::json rehearsal_gate(const Project& project, const Environment& env,
                              const Running& candidate, std::int64_t now) {
  const RehearsalRule& rule = *env.require_rehearsal;
  auto max_age = std::chrono::duration_cast<std::chrono::seconds>(rule.max_age).count();
  auto history = history_of(project, rule.in, "");
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    if (it->kind != ChangeKind::kRehearsal || !it->succeeded() ||
        it->rehearsal.value("like", "") != env.name) {
      continue;
    }
    const auto& to = it->rehearsal.value("to", nlohmann::json());
    if (!to.is_object() || to.value("release", "") != candidate.release) continue;
    auto finished = parse_iso8601(it->finished, "UTC");
    bool fresh = finished && now - *finished <= max_age;
    return gate("rehearsal", fresh,
                fmt::format("rehearsal {} in {}{}", it->id, rule.in,
                            fresh ? "" : ", older than " + format_duration(rule.max_age)));
  }
  return gate("rehearsal", false, fmt::format("not rehearsed in {}", rule.in));
}

nlohmann::json environment_row(const Project& project, const Environment& env,
                               const std::string& unit, std::int64_t now) {
  nlohmann::json row = {{"environment", env.name}};
  auto running = running_of(history_of(project, env.name, unit));
  if (running) {
    auto since = parse_iso8601(running->since, "UTC");
    row.update({{"release", running->release},
                {"config", running->config},
                {"commit", running->commit},
                {"branch", running->branch},
                {"snapshot", running->snapshot},
                {"since", running->since},
                {"running_s", since ? now - *since : 0},
                {"mixed", running->mixed}});
  } else {
    row["release"] = nullptr;
  }
  std::string upstream = upstream_of(env);
  row["upstream"] = upstream.empty() ? nlohmann::json() : nlohmann::json(upstream);
  nlohmann::json gates = nlohmann::json::array();
  std::optional<Running> candidate;
  if (!upstream.empty()) candidate = running_of(history_of(project, upstream, unit));
  if (candidate) {
    row["candidate"] = {{"release", candidate->release},
                        {"config", candidate->config},
                        {"commit", candidate->commit}};
  }
  const bool pending = candidate && (!running || running->release != candidate->release ||
                                     running->config != candidate->config);
  row["pending"] = pending;
  if (pending) {
    if (env.follows) gates.push_back(gate("sync", false, "sync from " + env.follows->env));
    if (env.require_rehearsal) gates.push_back(rehearsal_gate(project, env, *candidate, now));
    if (env.require_soak) {
      SoakEvidence soak =
          soak_of(*env.require_soak, history_of(project, env.require_soak->in, unit),
                  candidate->release, candidate->config, now);
      gates.push_back(gate("soak", soak.soaked,
                           fmt::format("in {} for {} of {}", env.require_soak->in,
                                       format_span(soak.soaked_s), soak.min)));
      if (env.require_soak->load_test_passed) {
        // What soak_of found about the load test, as it told the refusal.
        bool passed = soak.load_test_missing.empty();
        std::string detail = passed ? fmt::format("passed (snapshot {})", soak.load_test_snapshot)
                                    : soak.load_test_missing;
        gates.push_back(gate("load_test", passed, detail));
      }
    }
    if (env.approvals > 0) {
      gates.push_back(gate("approvals", false,
                           fmt::format("{} signed approval(s) of the plan", env.approvals)));
    }
  }
  if (auto span = freeze_at(env, now)) {
    gates.push_back(gate("freeze", false, describe_span(*span)));
  }
  row["gates"] = gates;
  return row;
}

std::string step_line(const nlohmann::json& step) {
  std::string line = fmt::format("{} {} {}", step.value("time", ""), step.value("step", ""),
                                 step.value("outcome", ""));
  if (step.contains("from")) line += " from " + step.value("from", "");
  if (step.contains("reason")) line += ": " + step.value("reason", "");
  return line;
}

}  // namespace

std::string upstream_of(const Environment& env) {
  if (env.follows) return env.follows->env;
  if (env.require_soak) return env.require_soak->in;
  return "";
}

nlohmann::json pipeline_view(const Project& project, std::int64_t now) {
  nlohmann::json envs = nlohmann::json::array();
  for (const auto& env : project.environments) {
    auto steps = PipelineLog(project.state_dir, env.name).read();
    std::string upstream = upstream_of(env);
    envs.push_back({{"environment", env.name},
                    {"upstream", upstream.empty() ? nlohmann::json() : nlohmann::json(upstream)},
                    {"last_step", steps.empty() ? nlohmann::json() : steps.back()}});
  }
  nlohmann::json units = nlohmann::json::array();
  for (const auto& unit : project.units) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& env : project.environments) {
      rows.push_back(environment_row(project, env, unit.name, now));
    }
    units.push_back({{"unit", unit.name}, {"environments", rows}});
  }
  return {{"now", iso_time(now)}, {"environments", envs}, {"units", units}};
}

std::string pipeline_text(const nlohmann::json& view) {
  std::string out;
  for (const auto& unit : view["units"]) {
    out += unit.value("unit", "") + "\n";
    for (const auto& row : unit["environments"]) {
      std::string what = "nothing";
      if (row["release"].is_string()) {
        what = short_id(row.value("release", ""), "?");
        std::string commit = row.value("commit", "");
        std::string branch = row.value("branch", "");
        if (!commit.empty()) {
          what += fmt::format(" ({}{})", branch.empty() ? "" : branch + " ", commit.substr(0, 7));
        }
        what += " for " + format_span(row.value("running_s", std::int64_t{0}));
      }
      std::string next;
      if (row.value("pending", false)) {
        next = fmt::format("next: {} from {}", short_id(row["candidate"].value("release", ""), "?"),
                           row.value("upstream", ""));
      } else if (row["upstream"].is_string() && row.contains("candidate")) {
        next = "same as " + row.value("upstream", "");
      }
      std::vector<std::string> gates;
      for (const auto& g : row["gates"]) {
        gates.push_back(fmt::format("{} {}: {}", g.value("ok", false) ? "ok" : "MISSING",
                                    g.value("gate", ""), g.value("detail", "")));
      }
      out += fmt::format("  {:<10} {}{}{}\n", row.value("environment", ""), what,
                         next.empty() ? "" : "; " + next,
                         gates.empty() ? "" : fmt::format(" [{}]", fmt::join(gates, "; ")));
    }
  }
  std::vector<std::string> steps;
  for (const auto& env : view["environments"]) {
    if (env["last_step"].is_object()) {
      steps.push_back(
          fmt::format("  {:<10} {}", env.value("environment", ""), step_line(env["last_step"])));
    }
  }
  if (!steps.empty()) out += "last pipeline steps\n" + fmt::format("{}\n", fmt::join(steps, "\n"));
  return out;
}

}  // namespace flotilla
