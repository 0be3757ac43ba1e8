// `flotilla logs UNIT [--grep RE] [--lines N] [--follow]`: tail or grep a
// unit's log files on every host at once; lines stream in prefixed by their
// host. --follow keeps streaming (cli/log_follower).
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/host_results.hpp"
#include "cli/log_follower.hpp"
#include "cli/log_patrol.hpp"
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
  std::string since;  // the patrol: with --count, lines stamped in this window
  bool count = false;
  long max = -1;  // --max: exit 1 when a host has more matches
  CLI::Option* lines_option = nullptr;
};

// The unit's log globs: its `logs:`, else what the supervisor writes. They
// come from the validated project file (no quotes, no `..`); the host
// expands them. The log scripts' arguments end with them.
std::vector<std::string> log_globs(const Unit& unit) {
  return unit.logs.empty() ? std::vector<std::string>{"shared/log/*.log"} : unit.logs;
}

std::vector<std::string> with_globs(std::vector<std::string> args, const Unit& unit) {
  for (auto& glob : log_globs(unit)) args.push_back(std::move(glob));
  return args;
}

// `--grep RE --since 10m --count [--max N]`: per host, the stamped lines in
// the window that match, in one round trip per host; exit 1 above --max,
// 4 when a host cannot be reached, 1 when one cannot be read.
Result<Outcome> run_patrol(const GlobalOptions& options, const Targets& targets, const Unit& unit,
                           const LogsOptions& logs, Duration timeout, Reporter& reporter) {
  auto window = parse_duration(logs.since);
  if (!window) return fail(ErrorKind::kBadInput, "--since: expected a duration like 10m or 1h");
  std::size_t top = logs.lines_option != nullptr && logs.lines_option->count() > 0
                        ? static_cast<std::size_t>(logs.lines)
                        : 3;
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(*window).count();
  std::vector<std::string> args =
      with_globs({unit.deploy_to, std::to_string(seconds), std::to_string(top), logs.grep}, unit);
  auto connection = FleetConnection::open(options, targets, reporter);
  if (!connection) return tl::unexpected(connection.error());
  FleetConnection& fleet = **connection;
  RemoteCommand command = script_command(HostScript::kLogsCount, args, "", timeout);
  std::vector<HostTask> tasks;
  for (std::size_t i = 0; i < targets.hosts.size(); ++i) tasks.push_back({i, command});
  auto results = fleet.transport().run(tasks);

  Outcome outcome;
  nlohmann::json hosts = nlohmann::json::object();
  nlohmann::json over = nlohmann::json::array();
  std::size_t width = 4;
  for (const auto& a : fleet.addresses()) width = std::max(width, a.name.size());
  reporter.text(fmt::format("{:<{}} {:>8}  (matching {} in the last {})", "HOST", width, "MATCHES",
                            logs.grep.empty() ? "any line" : "'" + logs.grep + "'",
                            format_duration(*window)));
  for (std::size_t i = 0; i < results.size(); ++i) {
    const std::string& host = fleet.addresses()[i].name;
    Result<PatrolCount> counted =
        !results[i] ? Result<PatrolCount>(tl::unexpected(results[i].error()))
        : !results[i]->ok()
            ? fail(ErrorKind::kFailed, results[i]->err.empty()
                                           ? fmt::format("exit {}", results[i]->exit_status)
                                           : results[i]->err)
            : parse_patrol(results[i]->out, top);
    if (!counted) {
      std::string message = counted.error().message;
      while (!message.empty() && message.back() == '\n') message.pop_back();
      outcome.add(Outcome(counted.error().kind == ErrorKind::kUnreachable ? ErrorKind::kUnreachable
                                                                          : ErrorKind::kFailed));
      hosts[host] = {{"ok", false}, {"error", message}};
      reporter.text(fmt::format("{:<{}} {:>8}  {}", host, width, "?",
                                reporter.paint("cannot read: " + message, Reporter::Color::kRed)));
      continue;
    }
    bool too_many = logs.max >= 0 && counted->count > static_cast<std::uint64_t>(logs.max);
    if (too_many) {
      over.push_back(host);
      outcome.add(Outcome(ErrorKind::kFailed));
    }
    hosts[host] = {
        {"ok", true}, {"count", counted->count}, {"lines", counted->lines}, {"over", too_many}};
    reporter.text(fmt::format(
        "{:<{}} {:>8}{}", host, width, counted->count,
        too_many ? reporter.paint(fmt::format("  OVER {}", logs.max), Reporter::Color::kRed) : ""));
    for (const auto& line : counted->lines) reporter.text("    " + line);
  }
  reporter.document({{"unit", unit.name},
                     {"pattern", logs.grep},
                     {"since_s", seconds},
                     {"max", logs.max >= 0 ? nlohmann::json(logs.max) : nlohmann::json()},
                     {"hosts", hosts},
                     {"over", over}});
  return outcome;
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
    auto args = with_globs({(*unit)->deploy_to, logs.grep}, **unit);
    return follow_logs(
        options, *targets,
        script_command(HostScript::kLogsFollow, args, "", std::chrono::hours(24 * 365)), reporter);
  }
  auto connection = FleetConnection::open(options, *targets, reporter);
  if (!connection) return tl::unexpected(connection.error());
  FleetConnection& fleet = **connection;
  RemoteCommand command = script_command(
      HostScript::kLogs,
      with_globs({(*unit)->deploy_to, std::to_string(logs.lines), logs.grep}, **unit), "",
      *timeout);
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
  cmd->callback([&options, &reporter, &action, logs] {
    action = [&options, &reporter, logs] { return run_logs(options, *logs, *reporter); };
  });
}

}  // namespace flotilla
