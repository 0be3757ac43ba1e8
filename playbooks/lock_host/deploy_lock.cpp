#include "playbooks/lock_host/deploy_lock.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "core/host_json.hpp"
#include "core/script_command.hpp"
#include "playbooks/host_commands.hpp"
#include "snapshots/snapshot.hpp"

namespace flotilla {

std::string controller_user() {
  if (passwd* pw = ::getpwuid(::getuid())) return pw->pw_name;
  const char* user = std::getenv("USER");
  return user != nullptr ? user : "unknown";
}

std::string controller_host() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

namespace {

// The token as it appears in the holder's record: what the lock host's
// scripts look for.
std::string token_line(const std::string& token) {
  std::string line = nlohmann::json({{"token", token}}).dump().substr(1);
  line.pop_back();
  return line;
}

std::string random_token() {
  std::random_device rd;
  return fmt::format("{:016x}{:016x}", (static_cast<unsigned long long>(rd()) << 32) | rd(),
                     (static_cast<unsigned long long>(rd()) << 32) | rd());
}

}  // namespace

nlohmann::json LockHolder::to_json() const {
  return {{"user", user},     {"controller", controller}, {"pid", pid},    {"since", since},
          {"ticket", ticket}, {"message", message},       {"token", token}};
}

LockHolder LockHolder::from_json(const nlohmann::json& doc) {
  LockHolder h;
  h.user = doc.value("user", "");
  h.controller = doc.value("controller", "");
  h.pid = doc.value("pid", 0L);
  h.since = doc.value("since", "");
  h.ticket = doc.value("ticket", "");
  h.message = doc.value("message", "");
  h.token = doc.value("token", "");
  return h;
}

std::string DeployLock::describe(const LockHolder& h) {
  std::string text =
      fmt::format("held by {}@{} (pid {}) since {}", h.user, h.controller, h.pid, h.since);
  if (!h.ticket.empty()) text += fmt::format(", ticket {}", h.ticket);
  if (!h.message.empty()) text += fmt::format(": {}", h.message);
  // Staleness can only be judged from the controller that took it.
  if (h.controller == controller_host() && h.pid > 0 && ::kill(static_cast<pid_t>(h.pid), 0) != 0 &&
      errno == ESRCH) {
    text +=
        " — STALE: that process is gone; release it with `flotilla lock release --force` once you "
        "have checked the fleet";
  }
  return text;
}

DeployLock::DeployLock(Transport& transport, std::size_t lock_host, std::string environment,
                       Clock& clock)
    : transport_(transport),
      host_(lock_host),
      environment_(std::move(environment)),
      clock_(&clock) {}

Result<CommandResult> DeployLock::run(RemoteCommand command) {
  return transport_.run({{host_, std::move(command)}}).front();
}

Result<std::optional<LockHolder>> DeployLock::holder() {
  auto r = run(lock_holder_command(environment_));
  if (!r) return tl::unexpected(r.error());
  if (r->out.find_first_not_of(" \n") == std::string::npos) return std::optional<LockHolder>();
  auto doc = parse_host_json(r->out, "the lock's holder.json", 4, 64 * 1024);
  if (doc && doc->is_object()) {
    try {
      return std::optional<LockHolder>(LockHolder::from_json(*doc));
    } catch (const std::exception&) {
    }
  }
  // Taken a moment ago and not yet described, or damaged: still held.
  LockHolder unknown;
  unknown.message = "(holder not recorded)";
  return std::optional<LockHolder>(unknown);
}

Result<LockHolder> DeployLock::acquire(const std::string& ticket, const std::string& message,
                                       Duration wait, bool by_hand) {
  LockHolder me;
  me.user = controller_user();
  me.controller = controller_host();
  me.pid = by_hand ? 0 : ::getpid();
  me.since = iso_time_now();
  me.ticket = ticket;
  me.message = message;
  me.token = random_token();
  auto deadline = clock_->now() + wait;
  while (true) {
    auto r = run(lock_acquire_command(environment_, me.to_json().dump()));
    if (!r) return tl::unexpected(r.error());
    if (r->ok()) return me;
    if (!exited_with(*r, HostExit::kLockHeld)) {
      return fail(ErrorKind::kFailed, fmt::format("cannot take the deploy lock: {}", r->err));
    }
    if (clock_->now() >= deadline) {
      auto held = holder();
      std::string who = held && *held ? describe(**held) : "held by another controller";
      return fail(ErrorKind::kLocked,
                  fmt::format("the deploy lock of '{}' is {}", environment_, who));
    }
    clock_->sleep_for(std::chrono::seconds(1));
  }
}

Result<void> DeployLock::hand_over(const LockHolder& holder) {
  auto r =
      run(lock_hand_over_command(environment_, holder.to_json().dump(), token_line(holder.token)));
  if (!r) return tl::unexpected(r.error());
  if (exited_with(*r, HostExit::kNotHolder)) {
    return fail(ErrorKind::kLocked, "the deploy lock is no longer this change's");
  }
  if (!r->ok()) {
    return fail(ErrorKind::kFailed, fmt::format("cannot hand the deploy lock over: {}", r->err));
  }
  return {};
}

Result<long> DeployLock::next_snapshot_id(long at_least_above) {
  auto r = run(snapshot_id_command(environment_, at_least_above));
  if (!r) return tl::unexpected(r.error());
  if (r->ok()) {
    // Only a number the counter could have made: positive, bounded, decimal.
    std::string out = r->out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    if (!out.empty() && out.size() <= 9 &&
        out.find_first_not_of("0123456789") == std::string::npos) {
      long id = std::stol(out);
      if (id > at_least_above && id <= kMaxSnapshotId) return id;
    }
    return fail(
        ErrorKind::kFailed,
        fmt::format("cannot number the snapshot: the lock host answered '{}'", out.substr(0, 40)));
  }
  return fail(ErrorKind::kFailed, fmt::format("cannot number the snapshot: {}", r->err));
}

Result<long> DeployLock::snapshot_counter() {
  return parse_snapshot_counter(run(lock_counter_command(environment_)));
}

Result<long> DeployLock::parse_snapshot_counter(const Result<CommandResult>& r) {
  if (!r) return tl::unexpected(r.error());
  std::string out = r->out;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  if (!r->ok() || out.empty() || out.size() > 9 ||
      out.find_first_not_of("0123456789") != std::string::npos) {
    return fail(ErrorKind::kFailed, fmt::format("cannot read the snapshot counter: {}",
                                                r->ok() ? out.substr(0, 40) : r->err));
  }
  return std::stol(out);
}

Result<void> DeployLock::release(const std::string& token, bool force) {
  // Released after a Ctrl-C too: its round trip changes nothing on a service.
  transport_.resume();
  InterruptHold hold(transport_);  // the second Ctrl-C asked for this release
  // Without --force: the process that took it (by its token), or a person
  // releasing a lock taken by hand from this same machine — never a
  // deploy's, running or dead (a dead one's fleet needs checking first).
  std::string holder_token = token;
  if (!force && token.empty()) {
    auto held = holder();
    if (!held) return tl::unexpected(held.error());
    if (!*held) return {};
    const LockHolder& h = **held;
    if (h.controller != controller_host()) {
      return fail(ErrorKind::kLocked,
                  fmt::format("the deploy lock is {}; only its taker releases it (or use --force)",
                              describe(h)));
    }
    if (h.pid > 0) {
      return fail(ErrorKind::kLocked,
                  fmt::format("the deploy lock is {}; it was taken by a change, not by hand: let "
                              "it finish (or check the fleet and use --force)",
                              describe(h)));
    }
    holder_token = h.token;
  }
  auto r = run(lock_release_command(
      environment_, force ? std::nullopt : std::optional(token_line(holder_token))));
  if (!r) return tl::unexpected(r.error());
  if (exited_with(*r, HostExit::kNotHolder)) {
    return fail(ErrorKind::kLocked,
                "the deploy lock is held by someone else (use --force to break it)");
  }
  if (!r->ok())
    return fail(ErrorKind::kFailed, fmt::format("cannot release the deploy lock: {}", r->err));
  return {};
}

}  // namespace flotilla
