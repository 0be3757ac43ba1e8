#include "playbooks/change/unit_status.hpp"
#include "snapshots/short_id.hpp"

#include <climits>

#include <fmt/format.h>

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

// One host's row and document: failed on drift or bad health.
nlohmann::json host_status(Reporter& reporter, const Unit& unit, const std::string& name,
                           const Survey& survey, const HostPosition* expected, Outcome& outcome) {
  const HostState& state = survey.state;
  const bool supervised = !unit.run.empty();
  auto drift = drift_of(state, expected, supervised);
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
      "  {:<16} {:<13} {:<13} {:<16} {:<21} {:<8} {}", name, short_id(release),
      short_id(state.commit), state.branch.empty() ? "-" : state.branch,
      state.since.empty() ? "-" : state.since,
      reporter.paint(healthy, healthy == "ok"  ? Reporter::Color::kGreen
                              : healthy == "-" ? Reporter::Color::kNone
                                               : Reporter::Color::kRed),
      drift.empty()
          ? "-"
          : reporter.paint(fmt::format("{}", fmt::join(drift, "; ")), Reporter::Color::kYellow)));
  return {{"host", name},
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
  nlohmann::json hosts = nlohmann::json::array();
  reporter.text(reporter.paint(
      fmt::format("{} in {} (last snapshot: {})", unit.name, context.targets.environment->name,
                  history.empty() ? std::string("none") : std::to_string(history.back().id)),
      Reporter::Color::kBold));
  reporter.text(fmt::format("  {:<16} {:<13} {:<13} {:<16} {:<21} {:<8} {}", "HOST", "RELEASE",
                            "COMMIT", "BRANCH", "SINCE", "HEALTH", "DRIFT"));
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
    hosts.push_back(host_status(reporter, unit, name, *survey,
                                it == expected.end() ? nullptr : &it->second, outcome));
  }
  units_doc.push_back(
      {{"unit", unit.name},
       {"last_snapshot", history.empty() ? nlohmann::json() : nlohmann::json(history.back().id)},
       {"hosts", hosts}});
  return outcome;
}

}  // namespace flotilla
