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
#include "playbooks/host_commands.hpp"
#include "playbooks/unit_logs.hpp"

namespace flotilla {
namespace {

struct LogsOptions {
  std::string unit;
  std::string grep;
  long lines = 50;
  std::string timeout = "60s";
  bool follow = false;
  std::string since;  // the patrol: with --count, lines stamped in this window
  bool count = false;
  long max = -1;  // --max: exit 1 when a host has more matches
  CLI::Option* lines_option = nullptr;
};

// `--grep RE --since 10m --count [--max N]`: the patrol (playbooks/unit_logs).
Result<Outcome> run_patrol(const GlobalOptions& options, const Targets& targets, const Unit& unit,
                           const LogsOptions& logs, Duration timeout, Reporter& reporter) {
  auto window = parse_duration(logs.since);
  if (!window) return fail(ErrorKind::kBadInput, "--since: expected a duration like 10m or 1h");
  PatrolQuery query{logs.grep, *window, 3, logs.max, timeout};
  if (logs.lines_option != nullptr && logs.lines_option->count() > 0) {
    query.top = static_cast<std::size_t>(logs.lines);
  }
  auto connection = FleetConnection::open(options, targets, reporter);
  if (!connection) return tl::unexpected(connection.error());
  std::vector<std::string> hosts;
  for (const auto& a : (*connection)->addresses()) hosts.push_back(a.name);
  return patrol_logs((*connection)->transport(), hosts, unit, query, reporter);
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

  if (logs.count || !logs.since.empty()) {
    if (!logs.count || logs.since.empty() || logs.follow) {
      return fail(ErrorKind::kBadInput,
                  "the patrol is --since DURATION --count [--max N] (not with --follow)");
    }
    return run_patrol(options, *targets, **unit, logs, *timeout, reporter);
  }
  if (logs.max >= 0) return fail(ErrorKind::kBadInput, "--max goes with --since and --count");
  if (logs.follow) {
    return follow_logs(options, *targets, logs_follow_command(**unit, logs.grep), reporter);
  }
  auto connection = FleetConnection::open(options, *targets, reporter);
  if (!connection) return tl::unexpected(connection.error());
  FleetConnection& fleet = **connection;
  RemoteCommand command = logs_tail_command(**unit, logs.lines, logs.grep, *timeout);
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
  logs->lines_option =
      cmd->add_option("-n,--lines", logs->lines,
                      "Last N lines (of matches with --grep) per file; with --count, per host (3)")
          ->check(CLI::Range(1, 100000));
  cmd->add_option("--timeout", logs->timeout, "Per-host deadline (default 60s)");
  cmd->add_option("--since", logs->since,
                  "With --count: only lines the supervisor stamped in this window (10m, 1h)");
  cmd->add_flag("--count", logs->count, "Per host: how many lines match in the window (a patrol)");
  cmd->add_option("--max", logs->max, "With --count: exit 1 when a host has more than N matches")
      ->check(CLI::Range(0L, 1000000000L));
  cmd->add_flag(
      "-f,--follow", logs->follow,
      "Follow new lines on every host, merged, until Ctrl-C (hosts that drop are retried)");
  on_parsed(cmd, action,
            [&options, &reporter, logs] { return run_logs(options, *logs, *reporter); });
}

}  // namespace flotilla
