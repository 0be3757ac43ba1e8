#include "playbooks/change/rollout_decision.hpp"

#include <fmt/format.h>

#include "playbooks/lock_host/lock_host.hpp"
#include "playbooks/lock_host/rollout_board.hpp"

namespace flotilla {
namespace {

std::string who() { return controller_user() + "@" + controller_host(); }

}  // namespace

Result<Outcome> decide_paused_rollout(const ChangeContext& context, const std::string& unit,
                                      const std::string& word) {
  const Project& project = *context.targets.project;
  if (!project.unit(unit)) {
    return fail(ErrorKind::kBadInput, fmt::format("unknown unit '{}'", unit));
  }
  auto lock = open_environment_lock(context.targets, context.connect, *context.clock);
  if (!lock) return tl::unexpected(lock.error());
  const std::string& env = context.targets.environment->name;
  RolloutBoard board(*lock->transport, 0, env);
  if (auto decided = board.decide(unit, word, who()); !decided) {
    return tl::unexpected(decided.error());
  }
  context.reporter.event("decision", {{"unit", unit}, {"decision", word}, {"by", who()}});
  context.reporter.text(
      fmt::format("{}: the paused rollout of {} in {} {} (it reads the lock host within seconds)",
                  word, unit, env, word == "resume" ? "goes on" : "sends its batch back"));
  return Outcome();
}

bool end_watch_of(const ChangeContext& context, RolloutBoard& board, const std::string& unit) {
  if (!board.decide(unit, "end-watch", who())) return false;
  context.reporter.progress(fmt::format(
      "the watch of {} after its last change is told to end; waiting for its lock", unit));
  return true;
}

}  // namespace flotilla
