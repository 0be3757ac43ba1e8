// `flotilla doctor`: one round trip per host of the environment, and one line
// per problem a deploy would meet, with its fix. Exit 1 when there is one.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"
#include "playbooks/fleet_doctor.hpp"

namespace flotilla {
namespace {

Result<Outcome> run_doctor(const GlobalOptions& options, Reporter& reporter) {
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  auto findings = examine_fleet(*targets, fleet_connector(options, reporter), system_clock());
  if (!findings) return tl::unexpected(findings.error());
  std::size_t problems = 0, hosts_with = 0;
  for (const auto& host : *findings) {
    for (const auto& p : host.problems)
      reporter.text(fmt::format("{}: {}; fix: {}", host.host, p.problem, p.fix));
    problems += host.problems.size();
    if (!host.problems.empty()) ++hosts_with;
  }
  nlohmann::json doc = doctor_json(*findings);
  doc["environment"] = targets->environment->name;
  reporter.document(doc);
  if (problems == 0) {
    reporter.note(fmt::format("{}: {} host(s) ready for a deploy", targets->environment->name,
                              findings->size()));
    return Outcome{};
  }
  reporter.note(fmt::format("{}: {} problem(s) on {} of {} host(s): a deploy would fail",
                            targets->environment->name, problems, hosts_with, findings->size()));
  return Outcome(ErrorKind::kFailed);
}

}  // namespace

void add_doctor_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                        CommandAction& action) {
  auto* cmd = app.add_subcommand(
      "doctor",
      "Check what a deploy needs on every host: reach and host key, deploy_to rights, tools, "
      "disk, lock host, clock (exit 1 when a deploy would break)");
  on_parsed(cmd, action, [&options, &reporter] { return run_doctor(options, *reporter); });
}

}  // namespace flotilla
