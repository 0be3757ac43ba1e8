#pragma once

#include <string>

#include "playbooks/change/change_context.hpp"
#include "playbooks/lock_host/rollout_board.hpp"

namespace flotilla {

// `flotilla resume ENV UNIT` / `flotilla abort ENV UNIT`: leaves the word
// on the lock host's board for the rollout of UNIT that holds ENV's lock,
// paused on an inconclusive analysis, from any controller. It does not wait
// for the rollout to act: the rollout reads the board within seconds.
// kFailed when no rollout of UNIT waits there.
Result<Outcome> decide_paused_rollout(const ChangeContext& context, const std::string& unit,
                                      const std::string& word);

// A person's rollback of `unit` ends a watch of it that holds the lock:
// true when one was told to end (the rollback then waits for the lock).
// `board`: the lock host's.
bool end_watch_of(const ChangeContext& context, RolloutBoard& board, const std::string& unit);

}  // namespace flotilla
