#pragma once

#include <memory>
#include <vector>

#include "cli/global_options.hpp"
#include "cli/targets.hpp"
#include "core/git_source.hpp"
#include "core/ssh/ssh_transport.hpp"
#include "core/transport_wrapper.hpp"
#include "playbooks/change/change_context.hpp"

namespace flotilla {

// The SSH transport for the selected hosts, set up from the global options
// and the project's `ssh:` settings. Host i of the transport is
// targets.hosts[i]. While it lives, SIGINT cancels it (finish what is in
// flight, start nothing new); a second SIGINT exits at once.
class FleetConnection : public TransportWrapper {
 public:
  // Resolves every selected host's address (inventory, then ~/.ssh/config or
  // --ssh-config, then defaults). kBadInput for a malformed option, ssh
  // config or ProxyJump.
  static Result<std::unique_ptr<FleetConnection>> open(const GlobalOptions& options,
                                                       const Targets& targets, Reporter& reporter);
  // The same for `hosts` (inventory indexes) instead of targets.hosts.
  static Result<std::unique_ptr<FleetConnection>> open(const GlobalOptions& options,
                                                       const Targets& targets,
                                                       const std::vector<std::size_t>& hosts,
                                                       Reporter& reporter);
  FleetConnection(std::vector<HostAddress> addresses, SshOptions ssh, Reporter* trace = nullptr);
  ~FleetConnection();

  // With -vv, each call's round trip: what ran, on how many hosts, how long.
  std::vector<Result<CommandResult>> run(const std::vector<HostTask>& tasks,
                                         const OutputFn& on_output = {}) override;

  Transport& transport() { return *this; }
  const std::vector<HostAddress>& addresses() const { return addresses_; }
  static bool interrupted();
  // For a command whose normal end is Ctrl-C (logs --follow): the first one
  // is not announced as an interruption.
  static void end_quietly_on_interrupt();

 private:
  std::vector<HostAddress> addresses_;
  Reporter* trace_;
};

// How the change workflow connects: FleetConnection::open for the hosts asked.
ConnectFn fleet_connector(const GlobalOptions& options, Reporter& reporter);

// The context a change runs in from the command line: SSH to the hosts,
// git as the options say, Ctrl-C as the interruption. `targets` must
// outlive it and have a project.
ChangeContext change_context(const GlobalOptions& options, const Targets& targets,
                             Reporter& reporter);

// Where each selected host is reached: inventory variables, then
// ~/.ssh/config (or --ssh-config, or the project's ssh.config) as OpenSSH
// matches it, then defaults. kBadInput for a malformed option, ssh_config,
// ProxyJump, or a directive flotilla cannot honour (ProxyCommand, Match exec).
Result<std::vector<HostAddress>> resolve_addresses(const GlobalOptions& options,
                                                   const Targets& targets,
                                                   const std::vector<std::size_t>& hosts,
                                                   Reporter& reporter);

// Known-hosts files in order: --known-hosts, else the project's, else
// ~/.ssh/known_hosts; then the system's /etc/ssh/ssh_known_hosts.
std::vector<std::string> known_hosts_files(const GlobalOptions& options, const Project* project);

// How builds reach SSH git remotes: the same known_hosts files and keys as hosts.
GitAccess git_access(const GlobalOptions& options, const Project* project);

}  // namespace flotilla
