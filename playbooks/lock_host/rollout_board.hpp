#pragma once

#include <optional>
#include <string>

#include "core/error.hpp"
#include "core/transport.hpp"

namespace flotilla {

// A decision left for a waiting rollout: resume, abort or end-watch, and
// who left it (user@controller).
struct BoardDecision {
  std::string word;
  std::string by;
};

// The board beside an environment's deploy lock, on its lock host
// (host_scripts/rollout_board.sh): the rollout holding the lock says what
// it waits for (an analysis paused on no data, a watch), and a person at
// any controller answers (`resume`, `abort`, a `rollback` ending a watch).
// Releasing the lock clears it.
class RolloutBoard {
 public:
  RolloutBoard(Transport& transport, std::size_t lock_host, std::string environment);
  virtual ~RolloutBoard() = default;

  // The holder's side (virtual: a test answers for the lock host).
  virtual Result<void> post(const std::string& unit,
                            const std::string& state);  // paused | watching
  virtual Result<std::optional<BoardDecision>> read();
  virtual Result<void> clear();

  // Anyone's side: leaves `word` for `unit`'s waiting rollout. kFailed
  // naming what waits instead when it waits for no such thing.
  Result<void> decide(const std::string& unit, const std::string& word, const std::string& by);
  // "paused payment", "watching game", or nothing.
  Result<std::optional<std::string>> waiting();

 private:
  Result<CommandResult> run(const std::string& action, const std::vector<std::string>& args);
  // Its trimmed output; an error when it did not succeed.
  Result<std::string> output_of(const std::string& action, const std::vector<std::string>& args);
  Transport& transport_;
  std::size_t host_;
  std::string environment_;
};

}  // namespace flotilla
