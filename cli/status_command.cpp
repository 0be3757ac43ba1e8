// `flotilla status [UNIT]`: per host, read live from the hosts: release,
// commit, branch, since when, health, and drift — a host not running what
// the last snapshot says, or whose `current` was switched by hand.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"
#include "playbooks/change/unit_status.hpp"

namespace flotilla {
namespace {

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
  on_parsed(cmd, action, [&options, &reporter, only_unit] {
    return run_status(options, *only_unit, *reporter);
  });
}

}  // namespace flotilla
