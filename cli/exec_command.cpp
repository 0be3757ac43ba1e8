// `flotilla exec -- CMD...`: run a command on every selected host at once.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/host_results.hpp"
#include "cli/targets.hpp"
#include "core/shell_quote.hpp"

namespace flotilla {
namespace {

struct ExecOptions {
  std::vector<std::string> argv;
  std::string timeout = "10m";
  bool stream = false;
};

// One argument is a shell command line (`exec -- 'tail -f x | grep y'`);
// several are an exact argv, each quoted, so hostile values stay literal.
std::string remote_command_line(const std::vector<std::string>& argv) {
  if (argv.size() == 1) return argv.front();
  return shell_join(argv);
}

Result<Outcome> run_exec(const GlobalOptions& options, const ExecOptions& exec,
                         Reporter& reporter) {
  auto timeout = parse_duration(exec.timeout);
  if (!timeout) {
    return fail(
        ErrorKind::kBadInput,
        fmt::format("--timeout: expected a duration like 30s or 5m, found '{}'", exec.timeout));
  }
  auto targets = load_targets(options, reporter, false);
  if (!targets) return tl::unexpected(targets.error());
  if (targets->hosts.empty()) return fail(ErrorKind::kBadInput, "the inventory has no hosts");

  auto connection = FleetConnection::open(options, *targets, reporter);
  if (!connection) return tl::unexpected(connection.error());
  FleetConnection& fleet = **connection;
  std::vector<HostTask> tasks;
  for (std::size_t i = 0; i < targets->hosts.size(); ++i) {
    tasks.push_back({i, RemoteCommand{remote_command_line(exec.argv), "", *timeout}});
  }
  HostLineStream lines(reporter, fleet.addresses());
  bool stream = exec.stream && !reporter.json();
  auto results = fleet.transport().run(tasks, stream ? lines.callback() : Transport::OutputFn());
  lines.flush();
  Outcome outcome = report_host_results(reporter, fleet.addresses(), results, exec.stream);
  if (FleetConnection::interrupted()) outcome.add(ErrorKind::kFailed);
  return outcome;
}

}  // namespace

void add_exec_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                      CommandAction& action) {
  auto exec = std::make_shared<ExecOptions>();
  auto* cmd = app.add_subcommand("exec", "Run a command on every selected host in parallel");
  cmd->add_option("--timeout", exec->timeout, "Per-host deadline (default 10m)");
  cmd->add_flag("--stream", exec->stream, "Print output lines as they arrive, prefixed by host");
  cmd->add_option("command", exec->argv,
                  "After --: one shell command line, or an exact argv (each argument quoted)")
      ->required();
  cmd->callback([&options, &reporter, &action, exec] {
    action = [&options, &reporter, exec] { return run_exec(options, *exec, *reporter); };
  });
}

}  // namespace flotilla
