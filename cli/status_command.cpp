// `flotilla status [UNIT]`: per host, read live from the hosts: release,
// commit, branch, since when, health, and drift — a host not running what
// the last snapshot says, or whose `current` was switched by hand.
#include <climits>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"
#include "playbooks/change/unit_fleet.hpp"
#include "playbooks/host_steps.hpp"
#include "snapshots/drift.hpp"
#include "snapshots/fleet_history.hpp"

namespace flotilla {
namespace {

std::string short_id(const std::string& id) { return id.empty() ? "-" : id.substr(0, 12); }

// One unit's hosts: failed on drift or bad health, unreachable hosts worse.
Result<Outcome> unit_status(const ChangeContext& context, const std::string& unit_name,
                            nlohmann::json& units_doc) {
  Reporter& reporter = context.reporter;
  auto fleet = connect_unit(context, unit_name);
  if (!fleet) return tl::unexpected(fleet.error());
  const Unit& unit = *fleet->unit;
  Ledger ledger = ledger_of(context.targets);
  // One round trip per host: the health check rides along with the survey.
  std::map<std::size_t, HealthProbe> probes;
  if (unit.health) {
    for (std::size_t i = 0; i < fleet->plan_hosts.size(); ++i) {
      auto probe = health_probe(unit, fleet->by_name.at(fleet->plan_hosts[i].name).vars);
      if (!probe) return tl::unexpected(probe.error());
      probes[i] = std::move(*probe);
    }
  }
  auto reading = survey_and_sync(context, *fleet, ledger, nullptr, probes);
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
    const HostState& state = survey->state;
    auto it = expected.find(name);
    const bool supervised = !unit.run.empty();
    auto drift = drift_of(state, it == expected.end() ? nullptr : &it->second, supervised);
    // The release column is what the processes run, where they show it.
    ObservedRelease seen = observe_release(state.processes, supervised);
    std::string release = seen.release.value_or(state.release.value_or(""));
    std::string healthy = state.stopped                     ? "stopped"
                          : !unit.health || !state.release  ? "-"
                          : survey->healthy.value_or(false) ? "ok"
                                                            : "FAILING";
    if (!drift.empty() || healthy == "stopped" || healthy == "FAILING") {
      outcome.add(ErrorKind::kFailed);
    }
    hosts.push_back({{"host", name},
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
                     {"drift", drift}});
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
  }
  units_doc.push_back(
      {{"unit", unit.name},
       {"last_snapshot", history.empty() ? nlohmann::json() : nlohmann::json(history.back().id)},
       {"hosts", hosts}});
  return outcome;
}

Result<Outcome> run_status(const GlobalOptions& options, const std::string& only_unit,
                           Reporter& reporter) {
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  ChangeContext context = change_context(options, *targets, reporter);
  std::vector<std::string> units;
  if (!only_unit.empty()) {
    units.push_back(only_unit);
  } else {
    for (const auto& u : targets->project->units) units.push_back(u.name);
  }
  nlohmann::json units_doc = nlohmann::json::array();
  Outcome outcome;
  for (const auto& name : units) {
    auto result = unit_status(context, name, units_doc);
    if (!result) {
      // Listing every unit: one with no hosts in this environment is skipped.
      if (only_unit.empty() && result.error().kind == ErrorKind::kBadInput) continue;
      return tl::unexpected(result.error());
    }
    outcome.add(*result);
  }
  reporter.document({{"environment", targets->environment->name}, {"units", units_doc}});
  return outcome;
}

}  // namespace

void add_status_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                        CommandAction& action) {
  auto only_unit = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "status",
      "Per host, live: release, commit, health, drift (exit 1 on drift or failing health)");
  cmd->add_option("unit", *only_unit, "Unit name (default: every unit)");
  cmd->callback([&options, &reporter, &action, only_unit] {
    action = [&options, &reporter, only_unit] {
      return run_status(options, *only_unit, *reporter);
    };
  });
}

}  // namespace flotilla
