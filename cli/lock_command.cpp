// `flotilla lock status|acquire|release`: the environment's deploy lock, held
// on the fleet so every controller sees it. Exit 3 when someone else holds it.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/fleet_connection.hpp"
#include "cli/targets.hpp"
#include "playbooks/lock_host/lock_host.hpp"

namespace flotilla {
namespace {

// The environment's deploy lock, reached as the global options say
// (whatever --limit says: the lock is the environment's).
struct OpenLock {
  std::string environment;
  EnvironmentLock held;
};

Result<OpenLock> open_deploy_lock(const GlobalOptions& options, Reporter& reporter) {
  GlobalOptions whole_environment = options;
  whole_environment.limit.clear();
  auto targets = load_targets(whole_environment, reporter, true);
  if (!targets) return tl::unexpected(targets.error());
  auto lock = open_environment_lock(*targets, fleet_connector(whole_environment, reporter));
  if (!lock) return tl::unexpected(lock.error());
  return OpenLock{targets->environment->name, std::move(*lock)};
}

struct LockOptions {
  std::string message;
  std::string ticket;
  std::string wait = "0s";
  bool force = false;
};

Result<Outcome> run_lock(const GlobalOptions& options, const LockOptions& lock,
                         const std::string& action, Reporter& reporter) {
  auto wait = parse_duration(lock.wait);
  if (!wait) return fail(ErrorKind::kBadInput, "--wait: expected a duration like 30s or 5m");
  auto held = open_deploy_lock(options, reporter);
  if (!held) return tl::unexpected(held.error());
  DeployLock& deploy_lock = held->held.lock;
  if (action == "status") {
    auto holder = deploy_lock.holder();
    if (!holder) return tl::unexpected(holder.error());
    if (reporter.json()) {
      nlohmann::json doc = {{"environment", held->environment}, {"held", holder->has_value()}};
      if (*holder) {
        doc["holder"] = (*holder)->to_json();
        doc["holder"].erase("token");
        doc["description"] = DeployLock::describe(**holder);
      }
      reporter.document(doc);
    } else {
      reporter.text(*holder
                        ? fmt::format("{}: {}", held->environment, DeployLock::describe(**holder))
                        : fmt::format("{}: free", held->environment));
    }
    return Outcome();
  }
  if (action == "acquire") {
    if (lock.message.empty())
      return fail(ErrorKind::kBadInput, "lock acquire needs -m MESSAGE (why the fleet is held)");
    auto taken = deploy_lock.acquire(lock.ticket, lock.message, *wait, /*by_hand=*/true);
    if (!taken) return tl::unexpected(taken.error());
    reporter.document({{"environment", held->environment}, {"acquired", true}});
    reporter.text(fmt::format("{}: lock acquired; release it with `flotilla -e {} lock release`",
                              held->environment, held->environment));
    return Outcome();
  }
  auto released = deploy_lock.release("", lock.force);
  if (!released) return tl::unexpected(released.error());
  reporter.document({{"environment", held->environment}, {"released", true}});
  reporter.text(fmt::format("{}: lock released", held->environment));
  return Outcome();
}

}  // namespace

void add_lock_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                      CommandAction& action) {
  auto lock = std::make_shared<LockOptions>();
  auto* cmd = app.add_subcommand("lock", "The environment's deploy lock, held on the fleet");
  cmd->require_subcommand(1);
  auto* status = cmd->add_subcommand("status", "Who holds the lock, since when, why");
  auto* acquire =
      cmd->add_subcommand("acquire", "Hold the lock by hand (maintenance); exit 3 if held");
  acquire->add_option("-m,--message", lock->message, "Why")->required();
  acquire->add_option("--ticket", lock->ticket, "Change ticket");
  acquire->add_option("--wait", lock->wait, "Wait this long for the lock (default 0s)");
  auto* release = cmd->add_subcommand("release", "Release a lock taken from this machine");
  release->add_flag("--force", lock->force,
                    "Break a lock someone else holds (check the fleet first)");
  for (auto [sub, name] : {std::pair{status, "status"}, std::pair{acquire, "acquire"},
                           std::pair{release, "release"}}) {
    std::string verb = name;
    sub->callback([&options, &reporter, &action, lock, verb] {
      action = [&options, &reporter, lock, verb] {
        return run_lock(options, *lock, verb, *reporter);
      };
    });
  }
}

}  // namespace flotilla
