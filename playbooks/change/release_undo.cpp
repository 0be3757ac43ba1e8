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

Outcome undo_release(const ChangeContext& context, DeployLock& lock, const Release& release,
                     const std::vector<UnitRun>& runs, long release_id, long& highest,
                     PhaseTimes& times) {
  Reporter& reporter = context.reporter;
  Outcome outcome;
  std::set<std::string> done;
  Ledger ledger = ledger_of(context.targets);
  for (auto it = runs.rbegin(); it != runs.rend(); ++it) {
    if (!it->changed || !done.insert(it->unit).second) continue;
    // Before its last change in this release: a rehearsal's unit goes back
    // to the state it was reset to, a released unit to where it stood.
    auto to = standing_before(ledger, it->unit, it->snapshot.id);
    if (!to) {
      reporter.error(fmt::format("{} ran nothing before this release: it stays on {}", it->unit,
                                 it->snapshot.artifact.substr(0, 12)));
      outcome.add(Outcome(ErrorKind::kFailed));
      continue;
    }
    reporter.progress(
        fmt::format("release {}: sending {} back to snapshot {}", release_id, it->unit, *to));
    ChangeRequest back;
    back.kind = ChangeKind::kRollback;
    back.unit = it->unit;
    back.to = *to;
    back.ticket = release.changes.front().ticket;
    auto prepared = prepare_change(context, back);
    if (!prepared || !prepared->plan.complete()) {
      reporter.error(fmt::format("could not send {} back: {}", it->unit,
                                 prepared ? "not every host answered" : prepared.error().message));
      outcome.add(Outcome(ErrorKind::kFailed));
      continue;
    }
    if (prepared->plan.batches.empty()) continue;
    auto id = lock.next_snapshot_id(std::max(highest, prepared->highest_snapshot));
    if (!id) {
      reporter.error(id.error().message);
      outcome.add(Outcome(ErrorKind::kFailed));
      continue;
    }
    highest = *id;
    auto run = run_unit(context, *prepared, back, {*id, release_id}, std::nullopt, times,
                        "undo " + back.unit + ": ");
    if (!run || !run->ok) outcome.add(Outcome(ErrorKind::kFailed));
  }
  return outcome;
}

}  // namespace flotilla
