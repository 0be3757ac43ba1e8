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

Result<int> run_exec(const GlobalOptions& options, const ExecOptions& exec, Reporter& reporter) {
  auto timeout = parse_duration(exec.timeout);
  if (!timeout) {
    return fail(
        ErrorKind::kBadInput,
        fmt::format("--timeout: expected a duration like 30s or 5m, found '{}'", exec.timeout));
  }
  auto targets = load_targets(options, reporter, false);
  if (!targets) return tl::unexpected(targets.error());
  if (targets->hosts.empty()) return fail(ErrorKind::kBadInput, "the inventory has no hosts");

  auto connection = FleetConnection::open(options, *targets);
  if (!connection) return tl::unexpected(connection.error());
  FleetConnection& fleet = **connection;
  std::vector<HostTask> tasks;
  for (std::size_t i = 0; i < targets->hosts.size(); ++i) {
    tasks.push_back({i, RemoteCommand{remote_command_line(exec.argv), "", *timeout}});
  }
  // Streaming: each complete line as it arrives, prefixed by its host.
  std::vector<std::string> partial(tasks.size() * 2);
  Transport::OutputFn stream;
  if (exec.stream && !reporter.json()) {
    stream = [&](std::size_t host, bool is_stderr, std::string_view chunk) {
      std::string& buffer = partial[host * 2 + (is_stderr ? 1 : 0)];
      buffer.append(chunk);
      std::size_t newline;
      while ((newline = buffer.find('\n')) != std::string::npos) {
        reporter.text(
            fmt::format("{} | {}", fleet.addresses()[host].name, buffer.substr(0, newline)));
        buffer.erase(0, newline + 1);
      }
    };
  }
  auto results = fleet.transport().run(tasks, stream);
  for (std::size_t i = 0; i < partial.size(); ++i) {
    if (!partial[i].empty())
      reporter.text(fmt::format("{} | {}", fleet.addresses()[i / 2].name, partial[i]));
  }
  int code = report_host_results(reporter, fleet.addresses(), results, exec.stream);
  if (FleetConnection::interrupted() && code == 0) code = 1;
  return code;
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
