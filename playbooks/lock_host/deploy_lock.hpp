#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/duration.hpp"
#include "core/error.hpp"
#include "core/transport.hpp"
#include "host_scripts/embedded.hpp"

namespace flotilla {

// Who holds an environment's deploy lock.
struct LockHolder {
  std::string user;
  std::string controller;  // host name of the machine that took it
  long pid = 0;
  std::string since;  // ISO time
  std::string ticket;
  std::string message;
  std::string token;  // random: only the taker releases without --force
  nlohmann::json to_json() const;
  static LockHolder from_json(const nlohmann::json& doc);
};

// The deploy lock of one environment, held on the fleet itself (on one lock
// host, in the SSH user's ~/.flotilla/locks/ENV), so every controller — a
// laptop, a CI runner — sees the same lock. Taken with an atomic mkdir.
class DeployLock {
 public:
  // `clock` paces the wait in acquire.
  DeployLock(Transport& transport, std::size_t lock_host, std::string environment,
             Clock& clock = system_clock());

  // Takes the lock, waiting up to `wait` (polling) while someone holds it.
  // kLocked naming the holder (and "stale" when its process is gone from
  // this controller) if it stays held.
  // `by_hand`: a person holds it (no process to outlive), never shown stale.
  Result<LockHolder> acquire(const std::string& ticket, const std::string& message, Duration wait,
                             bool by_hand = false);
  // Releases a lock this process took (`token`), or with an empty token one
  // taken by hand from this machine; with `force`, whoever holds it.
  Result<void> release(const std::string& token, bool force);
  // Hands the lock `holder.token` holds to `holder` (the same token, another
  // pid: the background process a `--no-wait` change goes on in). kLocked
  // when that token no longer holds it.
  Result<void> hand_over(const LockHolder& holder);
  // The environment's next snapshot id, from a counter kept beside the
  // lock (call it while holding the lock): above the counter and above
  // `at_least_above` (the highest id this controller has seen).
  Result<long> next_snapshot_id(long at_least_above);
  // The highest snapshot id given out so far (0 before the first); read
  // without the lock, as it only grows. A fleet-wide fact from hosts with a
  // larger id is forged.
  Result<long> snapshot_counter();
  // The answer to lock_counter_command (host_commands), also run beside a survey.
  static Result<long> parse_snapshot_counter(const Result<CommandResult>& answer);
  // The holder, or nullopt when free.
  Result<std::optional<LockHolder>> holder();

  // "held by alice@ci-7 (pid 4242) since ...: message" (+ " — STALE ...").
  static std::string describe(const LockHolder& holder);

 private:
  Result<CommandResult> run(RemoteCommand command);
  Transport& transport_;
  std::size_t host_;
  std::string environment_;
  Clock* clock_;
};

// Who and where this controller is, for locks and snapshots.
std::string controller_user();
std::string controller_host();

}  // namespace flotilla
