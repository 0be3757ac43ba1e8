#include "playbooks/change/balancer_ready.hpp"

#include <fmt/format.h>

#include "playbooks/change/unit_balancer.hpp"
#include "playbooks/lock_host/lock_host.hpp"

namespace flotilla {

Result<Outcome> put_back_in_rotation(const ChangeContext& context, const std::string& unit_name,
                                     Duration lock_wait) {
  Reporter& reporter = context.reporter;
  auto fleet = connect_unit(context, unit_name);
  if (!fleet) return tl::unexpected(fleet.error());
  if (!fleet->unit->balancer) {
    return fail(ErrorKind::kBadInput, fmt::format("unit '{}' has no balancer: in {}", unit_name,
                                                  context.targets.project->path));
  }
  auto balancer = connect_balancer(context, *fleet);
  if (!balancer) return tl::unexpected(balancer.error());
  if (!*balancer) {
    return fail(
        ErrorKind::kBadInput,
        fmt::format("units.{}.balancer.hosts: '{}' names no host of {}'s inventory", unit_name,
                    fleet->unit->balancer->hosts, context.targets.environment->name));
  }
  std::vector<std::string> hosts;
  for (const auto& target : fleet->plan_hosts) hosts.push_back(target.name);

  auto environment_lock = open_environment_lock(context.targets, context.connect, *context.clock);
  if (!environment_lock) return tl::unexpected(environment_lock.error());
  auto holder = environment_lock->lock.acquire(
      "", fmt::format("balancer ready {} ({})", unit_name, fmt::join(hosts, ", ")), lock_wait);
  if (!holder) return tl::unexpected(holder.error());

  auto observer = reported_rollout(reporter, "balancer", 0, "");
  Outcome outcome;
  TrafficSwitch::Failures failures;
  if (auto weights = (*balancer)->reset_weights(hosts, *observer); !weights) {
    reporter.error(weights.error().message);
    outcome.add(ErrorKind::kFailed);
  }
  failures = (*balancer)->put_back(hosts, *observer);
  nlohmann::json doc = nlohmann::json::array();
  for (const auto& host : hosts) {
    auto failed = failures.find(host);
    doc.push_back({{"host", host},
                   {"ok", failed == failures.end()},
                   {"detail", failed == failures.end() ? "" : failed->second}});
    if (failed == failures.end()) {
      reporter.text(
          fmt::format("  {:<16} {}", host, reporter.paint("in rotation", Reporter::Color::kGreen)));
    } else {
      outcome.add(ErrorKind::kFailed);
      reporter.text(
          fmt::format("  {:<16} {}", host, reporter.paint(failed->second, Reporter::Color::kRed)));
    }
  }
  if (auto released = environment_lock->lock.release(holder->token, false); !released) {
    reporter.error(fmt::format("could not release the deploy lock: {}", released.error().message));
  }
  reporter.document(
      {{"environment", context.targets.environment->name}, {"unit", unit_name}, {"hosts", doc}});
  return outcome;
}

}  // namespace flotilla
