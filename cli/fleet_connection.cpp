#include "cli/fleet_connection.hpp"

#include "cli/targets.hpp"

#include "playbooks/change/approvals.hpp"
#include "playbooks/lock_host/lock_host.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <fmt/format.h>

#include "core/local_command.hpp"
#include "inventory/host_address.hpp"

namespace flotilla {
namespace {

// Every live connection, so a signal reaches the one running a rollout
// whichever was opened last (signal-safe: a fixed array of atomics).
constexpr std::size_t kMaxConnections = 32;
std::atomic<Transport*> g_live[kMaxConnections];
std::atomic<int> g_interrupts{0};
std::atomic<bool> g_ends_quietly{false};

// SIGINT, SIGTERM and SIGHUP (a closed terminal). The first finishes what
// is in flight and starts nothing new; the second stops waiting for what is
// in flight; either way the change is recorded and the lock released. Only
// a third exits at once.
extern "C" void on_interrupt(int) {
  int count = g_interrupts.fetch_add(1);
  if (count >= 2) {
    static const char message[] = "\nflotilla: interrupted a third time, exiting now\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, message, sizeof message - 1);
    ::_exit(130);
  }
  if (count == 1) {
    static const char message[] =
        "\nflotilla: interrupted again: no longer waiting for steps in flight; recording where "
        "every host stands and releasing the lock (once more to quit at once)\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, message, sizeof message - 1);
    for (auto& live : g_live) {
      if (Transport* t = live.load()) t->abandon();
    }
    return;
  }
  static const char message[] =
      "\nflotilla: interrupted: finishing steps in flight, starting nothing new "
      "(Ctrl-C again to stop waiting)\n";
  // A command that simply ends on Ctrl-C (logs --follow) says nothing.
  if (!g_ends_quietly.load()) {
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, message, sizeof message - 1);
  }
  for (auto& live : g_live) {
    if (Transport* t = live.load()) t->cancel();
  }
}

}  // namespace

std::vector<std::string> known_hosts_files(const GlobalOptions& options, const Project* project) {
  std::vector<std::string> files;
  if (!options.known_hosts.empty()) {
    files.push_back(options.known_hosts);
  } else if (project != nullptr && project->ssh.known_hosts) {
    files.push_back(*project->ssh.known_hosts);
  } else {
    const char* home = std::getenv("HOME");
    files.push_back(std::string(home != nullptr ? home : "") + "/.ssh/known_hosts");
  }
  files.push_back("/etc/ssh/ssh_known_hosts");
  return files;
}

GitAccess git_access(const GlobalOptions& options, const Project* project) {
  SshDefaults defaults = SshDefaults::from_environment();
  return GitAccess{known_hosts_files(options, project), defaults.identity_files, defaults.user};
}

Result<std::unique_ptr<FleetConnection>> FleetConnection::open(const GlobalOptions& options,
                                                               const Targets& targets,
                                                               Reporter& reporter) {
  return open(options, targets, targets.hosts, reporter);
}

Result<std::unique_ptr<FleetConnection>> FleetConnection::open(
    const GlobalOptions& options, const Targets& targets, const std::vector<std::size_t>& hosts,
    Reporter& reporter) {
  SshOptions ssh;
  ssh.known_hosts_files = known_hosts_files(options, targets.project ? &*targets.project : nullptr);
  ssh.accept_new_host_keys = options.accept_new_host_keys;
  ssh.forks = 50;
  if (targets.project) {
    ssh.connect_timeout = targets.project->ssh.connect_timeout;
    ssh.forks = static_cast<std::size_t>(targets.project->ssh.forks);
    ssh.pace_starts = targets.project->ssh.pacing;
  }
  if (options.forks > 0) ssh.forks = static_cast<std::size_t>(options.forks);
  if (options.no_pacing) ssh.pace_starts = false;
  if (!options.connect_timeout.empty()) {
    auto timeout = parse_duration(options.connect_timeout);
    if (!timeout) {
      return fail(ErrorKind::kBadInput,
                  "--connect-timeout: expected a duration like 500ms, 10s or 5m, found '" +
                      options.connect_timeout + "'");
    }
    ssh.connect_timeout = *timeout;
  }
  auto addresses = resolve_addresses(options, targets, hosts, reporter);
  if (!addresses) return tl::unexpected(addresses.error());
  return std::make_unique<FleetConnection>(std::move(*addresses), std::move(ssh),
                                           reporter.verbosity() >= 2 ? &reporter : nullptr);
}

Result<std::vector<HostAddress>> resolve_addresses(const GlobalOptions& options,
                                                   const Targets& targets,
                                                   const std::vector<std::size_t>& hosts,
                                                   Reporter& reporter) {
  SshDefaults defaults = SshDefaults::from_environment();
  std::string config_path = options.ssh_config;
  if (config_path.empty() && targets.project && targets.project->ssh.config) {
    config_path = *targets.project->ssh.config;
  }
  if (config_path.empty()) {
    const char* home = std::getenv("HOME");
    config_path = std::string(home != nullptr ? home : "") + "/.ssh/config";
  }
  if (config_path != "none") {
    auto config = SshConfig::load(config_path);
    if (!config) return tl::unexpected(config.error());
    for (const auto& warning : config->warnings()) reporter.warning(warning);
    defaults.config = std::move(*config);
  }
  std::vector<HostAddress> addresses;
  for (std::size_t h : hosts) {
    auto address = host_address(targets.inventory.inventory, h, defaults);
    if (!address) return tl::unexpected(address.error());
    addresses.push_back(std::move(*address));
  }
  return addresses;
}

FleetConnection::FleetConnection(std::vector<HostAddress> addresses, SshOptions ssh,
                                 Reporter* trace)
    : TransportWrapper(std::make_unique<SshTransport>(addresses, std::move(ssh))),
      addresses_(std::move(addresses)),
      trace_(trace) {
  for (auto& live : g_live) {
    Transport* none = nullptr;
    if (live.compare_exchange_strong(none, &target())) break;
  }
  struct sigaction action {};
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGHUP, &action, nullptr);
}

FleetConnection::~FleetConnection() {
  for (auto& live : g_live) {
    Transport* mine = &target();
    live.compare_exchange_strong(mine, nullptr);
  }
}

std::vector<Result<CommandResult>> FleetConnection::run(const std::vector<HostTask>& tasks,
                                                        const OutputFn& on_output) {
  if (trace_ == nullptr || tasks.empty()) return TransportWrapper::run(tasks, on_output);
  auto started = std::chrono::steady_clock::now();
  auto results = TransportWrapper::run(tasks, on_output);
  std::set<std::string> labels;
  std::set<std::size_t> hosts;
  for (const auto& t : tasks) {
    labels.insert(t.command.label.empty() ? "command" : t.command.label);
    hosts.insert(t.host);
  }
  std::string what;
  for (const auto& l : labels) what += (what.empty() ? "" : "+") + l;
  trace_->verbose(fmt::format(
      "round trip: {} on {} host(s): {:.2f}s", what, hosts.size(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()));
  return results;
}

bool FleetConnection::interrupted() { return g_interrupts.load() > 0; }

void FleetConnection::end_quietly_on_interrupt() { g_ends_quietly.store(true); }

// The key records are signed with: --signing-key, FLOTILLA_SIGNING_KEY, the
// first key ssh-agent holds (its public half, written beside the ledger:
// ssh-keygen signs through the agent), else the identity the lock host is
// logged in with.
Result<std::string> signing_key_of(const GlobalOptions& options, const Targets& targets,
                                   Reporter& reporter) {
  if (!options.signing_key.empty()) return options.signing_key;
  if (const char* key = std::getenv("FLOTILLA_SIGNING_KEY"); key != nullptr && *key != '\0') {
    return std::string(key);
  }
  if (std::getenv("SSH_AUTH_SOCK") != nullptr) {
    if (auto listed = run_local({"ssh-add", "-L"}); listed && listed->exit_status == 0) {
      std::string first = listed->out.substr(0, listed->out.find('\n'));
      if (first.rfind("ssh-", 0) == 0 || first.rfind("ecdsa-", 0) == 0) {
        std::string path = targets.project->state_dir + "/agent-signing-key.pub";
        std::ofstream(path) << first << "\n";
        return path;
      }
    }
  }
  auto host = lock_host_of(targets);
  if (host) {
    auto address = resolve_addresses(options, targets, {*host}, reporter);
    if (address && !address->front().identity_files.empty()) {
      return address->front().identity_files.front();
    }
  }
  return fail(ErrorKind::kBadInput,
              "no key to sign records with: give --signing-key FILE or FLOTILLA_SIGNING_KEY, or "
              "load one into ssh-agent");
}

namespace {

// Another environment, reached with this command's options pointed at its
// whole fleet. Owns what its context refers to.
class CliEnvironment final : public OtherEnvironment {
 public:
  CliEnvironment(GlobalOptions options, Targets targets, Reporter& reporter)
      : options_(std::move(options)),
        targets_(std::move(targets)),
        context_(change_context(options_, targets_, reporter)) {
    // Its own project's environment, wherever the move left the project.
    targets_.environment = targets_.project->environment(options_.env);
  }
  const ChangeContext& context() const override { return context_; }

 private:
  GlobalOptions options_;
  Targets targets_;
  ChangeContext context_;
};

}  // namespace

ChangeContext change_context(const GlobalOptions& options, const Targets& targets,
                             Reporter& reporter) {
  secure_state_dir(*targets.project);
  // Who is asking, by the keys they log in with: asked (ssh-keygen,
  // ssh-add) only when approvals are checked, never by every command.
  auto requester_keys = [&options, &targets, &reporter]() -> std::vector<std::string> {
    auto host = lock_host_of(targets);
    if (!host) return {};
    auto address = resolve_addresses(options, targets, {*host}, reporter);
    if (!address) return {};
    return requester_key_fingerprints(address->front().identity_files);
  };
  ChangeContext context{targets,
                        fleet_connector(options, reporter),
                        git_access(options, &*targets.project),
                        reporter,
                        [] { return FleetConnection::interrupted(); },
                        requester_keys,
                        {}};
  // Found once, when a record is first signed.
  auto found = std::make_shared<std::optional<Result<std::string>>>();
  context.signing_key = [&options, &targets, &reporter, found]() -> Result<std::string> {
    if (!*found) *found = signing_key_of(options, targets, reporter);
    return **found;
  };
  context.other_environment =
      [&options,
       &reporter](const std::string& environment) -> Result<std::unique_ptr<OtherEnvironment>> {
    GlobalOptions theirs = options;
    theirs.env = environment;
    theirs.inventory.clear();
    theirs.limit.clear();
    auto their_targets = load_targets(theirs, reporter, true);
    if (!their_targets) return tl::unexpected(their_targets.error());
    return std::unique_ptr<OtherEnvironment>(
        std::make_unique<CliEnvironment>(std::move(theirs), std::move(*their_targets), reporter));
  };
  return context;
}

ConnectFn fleet_connector(const GlobalOptions& options, Reporter& reporter) {
  return [&options, &reporter](
             const Targets& targets,
             const std::vector<std::size_t>& hosts) -> Result<std::unique_ptr<Transport>> {
    auto connection = FleetConnection::open(options, targets, hosts, reporter);
    if (!connection) return tl::unexpected(connection.error());
    return std::unique_ptr<Transport>(std::move(*connection));
  };
}

}  // namespace flotilla
