// `flotilla logs UNIT [--grep RE] [--lines N]`: tail or grep a unit's log
// files on every host at once; lines stream in prefixed by their host.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/host_results.hpp"
#include "cli/targets.hpp"
#include "core/shell_quote.hpp"

namespace flotilla {
namespace {

struct LogsOptions {
  std::string unit;
  std::string grep;
  long lines = 50;
  std::string timeout = "60s";
};

// The log globs come from the validated project file (no quotes, no `..`), so
// they stay unquoted for the remote shell to expand; everything else is quoted.
std::string remote_logs_script(const Unit& unit, const LogsOptions& options) {
  std::vector<std::string> globs =
      unit.logs.empty() ? std::vector<std::string>{"shared/log/*.log"} : unit.logs;
  std::string lines = std::to_string(options.lines);
  std::string show = options.grep.empty()
                         ? fmt::format("tail -n {} -- \"$f\" | grep -H --label=\"$f\" ''", lines)
                         : fmt::format("grep -H -n -E -e {} -- \"$f\" | tail -n {}",
                                       shell_quote(options.grep), lines);
  return fmt::format(
      "cd -- {} 2>/dev/null || {{ echo 'no {} on this host' >&2; exit 3; }}\n"
      "found=0\n"
      "for f in {}; do [ -f \"$f\" ] || continue; found=1; {}; done\n"
      "[ $found = 1 ] || {{ echo {} >&2; exit 3; }}\n"
      "exit 0\n",
      shell_quote(unit.deploy_to), unit.deploy_to, fmt::join(globs, " "), show,
      shell_quote(fmt::format("no log files match {}", fmt::join(globs, " "))));
}

Result<int> run_logs(GlobalOptions options, const LogsOptions& logs, Reporter& reporter) {
  auto timeout = parse_duration(logs.timeout);
  if (!timeout) return fail(ErrorKind::kBadInput, "--timeout: expected a duration like 30s");
  auto targets = load_targets(options, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  auto unit = find_unit(*targets, logs.unit);
  if (!unit) return tl::unexpected(unit.error());
  if (auto narrowed = narrow_to_unit(*targets, **unit); !narrowed)
    return tl::unexpected(narrowed.error());

  auto connection = FleetConnection::open(options, *targets, reporter);
  if (!connection) return tl::unexpected(connection.error());
  FleetConnection& fleet = **connection;
  std::string script = remote_logs_script(**unit, logs);
  std::vector<HostTask> tasks;
  for (std::size_t i = 0; i < targets->hosts.size(); ++i)
    tasks.push_back({i, {script, "", *timeout}});
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
  cmd->callback([&options, &reporter, &action, logs] {
    action = [&options, &reporter, logs] { return run_logs(options, *logs, *reporter); };
  });
}

}  // namespace flotilla
