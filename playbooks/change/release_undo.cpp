#include "playbooks/change/release_undo.hpp"

#include <set>

#include <fmt/format.h>

#include "snapshots/ledger.hpp"

namespace flotilla {
namespace {

// The newest succeeded snapshot of `unit` before snapshot `id`: where a
// change left it standing before.
std::optional<long> standing_before(const Ledger& ledger, const std::string& unit, long id) {
  auto history = ledger.list(unit);
  if (!history) return std::nullopt;
  std::optional<long> before;
  for (const auto& s : *history) {
    if (s.id < id && s.succeeded()) before = s.id;
  }
  return before;
}

}  // namespace

bool send_unit_back(const ChangeContext& context, DeployLock& lock, ChangeRequest back, long before,
                    long release_id, long& highest, PhaseTimes& times, const std::string& prefix) {
  Reporter& reporter = context.reporter;
  Ledger ledger = ledger_of(context.targets);
  // Before that change: a rehearsal's unit goes back to the state it was
  // reset to, a released unit to where it stood.
  auto to = standing_before(ledger, back.unit, before);
  if (!to) {
    reporter.error(
        fmt::format("{} ran nothing before snapshot {}: it stays where it is", back.unit, before));
    return false;
  }
  reporter.progress(fmt::format("sending {} back to snapshot {}", back.unit, *to));
  back.kind = ChangeKind::kRollback;
  back.to = *to;
  auto prepared = prepare_change(context, back);
  if (!prepared || !prepared->plan.complete()) {
    reporter.error(fmt::format("could not send {} back: {}", back.unit,
                               prepared ? "not every host answered" : prepared.error().message));
    return false;
  }
  if (prepared->plan.batches.empty()) return true;
  auto id = lock.next_snapshot_id(std::max(highest, prepared->highest_snapshot));
  if (!id) {
    reporter.error(id.error().message);
    return false;
  }
  highest = *id;
  auto run = run_unit(context, *prepared, back, {*id, release_id}, std::nullopt, times, prefix);
  return run && run->ok;
}

Outcome undo_release(const ChangeContext& context, DeployLock& lock, const Release& release,
                     const std::vector<UnitRun>& runs, long release_id, long& highest,
                     PhaseTimes& times) {
  Outcome outcome;
  std::set<std::string> done;
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
    if (!it->changed || !done.insert(it->unit).second) continue;
    ChangeRequest back;
    back.unit = it->unit;
    back.ticket = release.changes.front().ticket;
    if (!send_unit_back(context, lock, back, it->snapshot.id, release_id, highest, times,
                        "undo " + back.unit + ": ")) {
      outcome.add(Outcome(ErrorKind::kFailed));
    }
  }
  return outcome;
}

}  // namespace flotilla
