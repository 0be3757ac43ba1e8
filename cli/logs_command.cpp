// `flotilla logs UNIT [--grep RE] [--lines N] [--follow]`: tail or grep a
// unit's log files on every host at once; lines stream in prefixed by their
// host. --follow keeps streaming (cli/log_follower).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/host_results.hpp"
#include "cli/log_follower.hpp"
#include "cli/targets.hpp"
#include "core/script_command.hpp"

namespace flotilla {
namespace {

struct LogsOptions {
  std::string unit;
  std::string grep;
  long lines = 50;
  std::string timeout = "60s";
  bool follow = false;
};

// host_scripts/logs.sh's arguments. The log globs come from the validated
// project file (no quotes, no `..`); the host expands them.
std::vector<std::string> logs_arguments(const Unit& unit, const LogsOptions& options) {
  std::vector<std::string> args = {unit.deploy_to, std::to_string(options.lines), options.grep};
  if (unit.logs.empty()) {
    args.push_back("shared/log/*.log");
  } else {
    args.insert(args.end(), unit.logs.begin(), unit.logs.end());
  }
  return args;
}

Result<Outcome> run_logs(GlobalOptions options, const LogsOptions& logs, Reporter& reporter) {
  auto timeout = parse_duration(logs.timeout);
  if (!timeout) return fail(ErrorKind::kBadInput, "--timeout: expected a duration like 30s");
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  auto unit = find_unit(*targets, logs.unit);
  if (!unit) return tl::unexpected(unit.error());
  if (auto narrowed = narrow_to_unit(*targets, **unit); !narrowed)
    return tl::unexpected(narrowed.error());

  if (logs.follow) {
    std::vector<std::string> args = logs_arguments(**unit, logs);
    args.erase(args.begin() + 1);  // no line count: only new lines
    return follow_logs(
        options, *targets,
        script_command(HostScript::kLogsFollow, args, "", std::chrono::hours(24 * 365)), reporter);
  }
  auto connection = FleetConnection::open(options, *targets, reporter);
  if (!connection) return tl::unexpected(connection.error());
  FleetConnection& fleet = **connection;
  RemoteCommand command =
      script_command(HostScript::kLogs, logs_arguments(**unit, logs), "", *timeout);
  std::vector<HostTask> tasks;
  for (std::size_t i = 0; i < targets->hosts.size(); ++i) tasks.push_back({i, command});
  HostLineStream lines(reporter, fleet.addresses());
  auto results =
      fleet.transport().run(tasks, reporter.json() ? Transport::OutputFn() : lines.callback());
  lines.flush();
  return report_host_results(reporter, fleet.addresses(), results, true);
}

}  // namespace

void add_logs_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                      CommandAction& action) {
  auto logs = std::make_shared<LogsOptions>();
  auto* cmd = app.add_subcommand("logs", "Tail or grep a unit's log files on every host at once");
  cmd->add_option("unit", logs->unit, "Unit name")->required();
  cmd->add_option("--grep", logs->grep, "Only lines matching this extended regex");
  cmd->add_option("-n,--lines", logs->lines, "Last N lines (of matches with --grep) per file")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--timeout", logs->timeout, "Per-host deadline (default 60s)");
  cmd->add_flag(
      "-f,--follow", logs->follow,
      "Follow new lines on every host, merged, until Ctrl-C (hosts that drop are retried)");
  cmd->callback([&options, &reporter, &action, logs] {
    action = [&options, &reporter, logs] { return run_logs(options, *logs, *reporter); };
  });
}

}  // namespace flotilla
