#include "playbooks/change/unit_status.hpp"
#include "snapshots/short_id.hpp"

#include <climits>

#include <fmt/format.h>

#include "playbooks/change/unit_balancer.hpp"
#include "playbooks/change/unit_fleet.hpp"
#include "playbooks/host_commands.hpp"
#include "snapshots/drift.hpp"
#include "snapshots/fleet_history.hpp"

namespace flotilla {
namespace {

// One round trip per host: the health check rides along with the survey.
Result<std::map<std::size_t, HealthProbe>> health_probes(const UnitFleet& fleet) {
  std::map<std::size_t, HealthProbe> probes;
  if (!fleet.unit->health) return probes;
  for (std::size_t i = 0; i < fleet.plan_hosts.size(); ++i) {
    auto probe = health_probe(*fleet.unit, fleet.by_name.at(fleet.plan_hosts[i].name).vars);
    if (!probe) return tl::unexpected(probe.error());
    probes[i] = std::move(*probe);
  }
  return probes;
}

// Where one host stands on each balancer: {balancer, status, sessions}.
using BalancerRows = std::map<std::string, nlohmann::json>;

// Every balancer's view of the unit's hosts; a balancer that cannot be
// read makes the outcome unreachable and is said once. `balanced`: the
// unit has balancer hosts in this environment.
BalancerRows balancer_rows(const ChangeContext& context, const UnitFleet& fleet, Outcome& outcome,
                           bool& balanced) {
  BalancerRows rows;
  balanced = false;
  if (!fleet.unit->balancer) return rows;
  auto balancer = connect_balancer(context, fleet);
  if (!balancer) {
    context.reporter.warning(balancer.error().message);
    outcome.add(balancer.error().kind);
    return rows;
  }
  if (!*balancer) return rows;  // no balancer hosts in this environment
  balanced = true;
  for (auto& view : (*balancer)->read()) {
    if (!view.servers) {
      context.reporter.warning(
          fmt::format("balancer {}: {}", view.balancer, view.servers.error().message));
      outcome.add(ErrorKind::kUnreachable);
      continue;
    }
    for (const auto& [host, rh] : fleet.by_name) {
      const std::string& server = (*balancer)->server_of(host);
      nlohmann::json row = {{"balancer", view.balancer}, {"server", server}, {"status", "ABSENT"}};
      for (const auto& s : *view.servers) {
        if (s.name != server) continue;
        row = {{"balancer", view.balancer},
               {"server", server},
               {"status", rotation_word(s.status)},
               {"detail", s.status},
               {"sessions", s.sessions},
               {"weight", s.weight}};
      }
      rows[host].push_back(row);
    }
  }
  return rows;
}

// One host's row and document: failed on drift or bad health.
nlohmann::json host_status(Reporter& reporter, const Unit& unit, const std::string& name,
                           const Survey& survey, const HostPosition* expected,
                           const nlohmann::json* balancers, Outcome& outcome) {
  const HostState& state = survey.state;
  const bool supervised = !unit.run.empty();
  auto drift = drift_of(state, expected, supervised);
  std::string rotation;
  if (balancers != nullptr) {
    for (const auto& b : *balancers) {
      std::string status = b["status"];
      rotation += (rotation.empty() ? "" : " ") +
                  fmt::format("{}:{}", b["balancer"].get<std::string>(), status);
      // Deployed here but not taking traffic there: what flotilla's record says is not what
      // players get.
      if (state.release && status != "UP") {
        drift.push_back(fmt::format("{} on balancer {}", status, b["balancer"].get<std::string>()));
      }
    }
  }
  // The release column is what the processes run, where they show it.
  ObservedRelease seen = observe_release(state.processes, supervised);
  std::string release = seen.release.value_or(state.release.value_or(""));
  std::string healthy = state.stopped                    ? "stopped"
                        : !unit.health || !state.release ? "-"
                        : survey.healthy.value_or(false) ? "ok"
                                                         : "FAILING";
  if (!drift.empty() || healthy == "stopped" || healthy == "FAILING") {
    outcome.add(ErrorKind::kFailed);
  }
  reporter.text(fmt::format(
      "  {:<16} {:<13} {:<13} {:<16} {:<21} {:<8} {}{}", name, short_id(release),
      short_id(state.commit), state.branch.empty() ? "-" : state.branch,
      state.since.empty() ? "-" : state.since,
      reporter.paint(healthy, healthy == "ok"  ? Reporter::Color::kGreen
                              : healthy == "-" ? Reporter::Color::kNone
                                               : Reporter::Color::kRed),
      balancers != nullptr ? fmt::format("{:<16} ", rotation) : "",
      drift.empty()
          ? "-"
          : reporter.paint(fmt::format("{}", fmt::join(drift, "; ")), Reporter::Color::kYellow)));
  nlohmann::json doc = {
      {"host", name},
      {"release", release},
      {"process",
       {{"running", seen.running},
        {"release", seen.release ? nlohmann::json(*seen.release) : nlohmann::json()},
        {"pids", seen.pids}}},
      {"current", state.release.value_or("")},
      {"config", state.config},
      {"commit", state.commit},
      {"branch", state.branch},
      {"since", state.since},
      {"snapshot", state.snapshot},
      {"health", healthy},
      {"drift", drift}};
  if (balancers != nullptr) doc["balancers"] = *balancers;
  return doc;
}

}  // namespace

Result<Outcome> unit_status(const ChangeContext& context, const std::string& unit_name,
                            nlohmann::json& units_doc) {
  Reporter& reporter = context.reporter;
  auto fleet = connect_unit(context, unit_name);
  if (!fleet) return tl::unexpected(fleet.error());
  const Unit& unit = *fleet->unit;
  Ledger ledger = ledger_of(context.targets);
  auto probes = health_probes(*fleet);
  if (!probes) return tl::unexpected(probes.error());
  auto reading = survey_and_sync(context, *fleet, ledger, nullptr, *probes);
  if (!reading) return tl::unexpected(reading.error());
  std::vector<Snapshot> history;
  for (auto& s : reading->ledger) {
    if (s.unit == unit.name) history.push_back(std::move(s));
  }
  auto expected = fleet_at(history, LONG_MAX);

  Outcome outcome;
  bool balanced = false;
  BalancerRows rotation = balancer_rows(context, *fleet, outcome, balanced);
  nlohmann::json hosts = nlohmann::json::array();
  reporter.text(reporter.paint(
      fmt::format("{} in {} (last snapshot: {})", unit.name, context.targets.environment->name,
                  history.empty() ? std::string("none") : std::to_string(history.back().id)),
      Reporter::Color::kBold));
  reporter.text(fmt::format("  {:<16} {:<13} {:<13} {:<16} {:<21} {:<8} {}{}", "HOST", "RELEASE",
                            "COMMIT", "BRANCH", "SINCE", "HEALTH",
                            balanced ? fmt::format("{:<16} ", "BALANCER") : "", "DRIFT"));
  for (std::size_t i = 0; i < fleet->plan_hosts.size(); ++i) {
    const std::string& name = fleet->plan_hosts[i].name;
    const auto& survey = reading->surveys[i];
    if (!survey) {
      outcome.add(survey.error().kind == ErrorKind::kUnreachable ? ErrorKind::kUnreachable
                                                                 : ErrorKind::kFailed);
      hosts.push_back({{"host", name}, {"error", survey.error().message}});
      reporter.text(fmt::format(
          "  {:<16} {}", name,
          reporter.paint("UNREACHABLE: " + survey.error().message, Reporter::Color::kRed)));
      continue;
    }
    auto it = expected.find(name);
    static const nlohmann::json kUnread = nlohmann::json::array();
    auto on_balancers = rotation.find(name);
    hosts.push_back(host_status(reporter, unit, name, *survey,
                                it == expected.end() ? nullptr : &it->second,
                                on_balancers != rotation.end() ? &on_balancers->second
                                : balanced                     ? &kUnread
                                                               : nullptr,
                                outcome));
  }
  units_doc.push_back(
      {{"unit", unit.name},
       {"last_snapshot", history.empty() ? nlohmann::json() : nlohmann::json(history.back().id)},
       {"hosts", hosts}});
  return outcome;
}

}  // namespace flotilla
