#include "cli/resolved_hosts.hpp"

#include <fmt/format.h>

#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"

namespace flotilla {
namespace {

// The bastions in the order they are reached, as ProxyJump lists them:
// "user@first:port,user@second:port".
std::string jump_text(const HostAddress& host) {
  std::vector<std::string> hops;
  for (const HostAddress* j = host.jump.get(); j != nullptr; j = j->jump.get()) {
    hops.insert(hops.begin(), fmt::format("{}@{}:{}", j->user, j->address, j->port));
  }
  return fmt::format("{}", fmt::join(hops, ","));
}

}  // namespace

Result<Outcome> list_resolved_hosts(const GlobalOptions& options, Reporter& reporter) {
  auto targets = load_targets(options, reporter, false);
  if (!targets) return tl::unexpected(targets.error());
  auto addresses = resolve_addresses(options, *targets, targets->hosts, reporter);
  if (!addresses) return tl::unexpected(addresses.error());
  nlohmann::json hosts = nlohmann::json::object();
  reporter.text(
      reporter.paint(fmt::format("{:<20} {:<28} {:<6} {:<12} {:<28} {}", "HOST", "HOSTNAME", "PORT",
                                 "USER", "PROXY_JUMP", "IDENTITY_FILES"),
                     Reporter::Color::kBold));
  for (const auto& a : *addresses) {
    hosts[a.name]["ssh"] = {
        {"hostname", a.address},
        {"port", a.port},
        {"user", a.user},
        {"identity_files", a.identity_files},
        {"proxy_jump", a.jump ? nlohmann::json(jump_text(a)) : nlohmann::json()}};
    // Redacted before padding, so a [REDACTED] hostname keeps the columns.
    reporter.text(fmt::format("{:<20} {:<28} {:<6} {:<12} {:<28} {}", a.name,
                              reporter.redacted(a.address), a.port, reporter.redacted(a.user),
                              a.jump ? jump_text(a) : "-", fmt::join(a.identity_files, ",")));
  }
  reporter.document({{"hosts", hosts}});
  return Outcome();
}

}  // namespace flotilla
