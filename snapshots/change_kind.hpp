#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace flotilla {

// The kinds of change a fleet can undergo; each is recorded in a snapshot
// under its name. A promote is a deploy of a stored target; a rehearsal is
// a deploy on a rehearsal environment of what another one will get
// (`rehearse`), recorded apart so `require_rehearsal` can find it.
enum class ChangeKind { kDeploy, kHotfix, kRollback, kConfig, kRehearsal, kRestore };

// When a kind needs a rehearsal (`require_rehearsal:`) before it runs.
enum class RehearsalNeed {
  kNever,
  kAlways,
  kIfHotfixPolicy,  // only with the environment's `hotfix_requires_rehearsal: true`
};

// Every rule that differs by kind, in one row per kind (kChangeKinds). A
// new kind is one row here plus its own steps (its target in
// `destination_of`, its command); nothing else asks which kind it has.
struct ChangeKindRules {
  ChangeKind kind;
  std::string_view name;  // what snapshots record, and what `snapshots list` shows
  // Refused inside a freeze window unless --override-freeze: rollback,
  // hotfix and restore are how an incident ends, and are never frozen.
  bool frozen = false;
  bool needs_ticket = true;     // under `require_ticket:` (a rollback never waits for one)
  bool needs_approvals = true;  // counts against `approvals: N` (nor for approvals)
  RehearsalNeed rehearsal = RehearsalNeed::kNever;
  // Its target is a build (new, or another environment's stored one).
  bool brings_new_build = false;
  // Sends the unit's config as the project declares it now (a rollback
  // or a restore sends what the hosts ran before instead).
  bool reads_unit_config = false;
  bool backs_up_first = false;           // runs the unit's `backup:` before any host changes
  bool waits_for_players = true;         // the drain waits for players (a rollback does not)
  bool reads_other_environment = false;  // takes its target from another environment's ledger
  bool counts_in_metrics = false;        // deploy frequency, lead time, change failure rate
  bool remedies_failure = false;         // following a change within 24 h marks that change failed
  // A snapshot of it is a place a rollback can return to (a restore brings
  // back data, not releases: a rollback looks past it).
  bool rollback_target = true;
  // Undone, newest first, when a later unit of its release fails or on
  // `rollback --release` (a rollback inside a release is already undoing).
  bool undone_with_release = true;
  // Recorded even when no host changes: a rehearsal is evidence that the
  // change was tried from this exact state, changed or not.
  bool recorded_unchanged = false;
  // Restarts every host it targets even at the release it runs (a restore
  // brings data back between stop and start).
  bool restarts_in_place = false;
  // A unit's `analysis:` judges its batches and its `watch:` follows it (a
  // rollback or a restore is how trouble ends: never paused, never watched).
  bool judged_by_analysis = false;
  // Where load tests run, one runs once it is in: it brings new bytes or
  // config, which a soak (`require_soak`) must see tested.
  bool load_tested = false;
  // Refused by `require_soak:` until its artifacts soaked elsewhere (a
  // hotfix, a rollback or a restore ends an incident and never waits a day).
  bool needs_soak = false;
};

// Row order is the enum's order (a unit test reads the table row by row).
// clang-format off
inline constexpr ChangeKindRules kChangeKinds[] = {
    {.kind = ChangeKind::kDeploy, .name = "deploy",
     .frozen = true, .rehearsal = RehearsalNeed::kAlways,
     .brings_new_build = true, .reads_unit_config = true, .backs_up_first = true,
     .counts_in_metrics = true, .judged_by_analysis = true, .load_tested = true, .needs_soak = true},
    {.kind = ChangeKind::kHotfix, .name = "hotfix",
     .rehearsal = RehearsalNeed::kIfHotfixPolicy,
     .brings_new_build = true, .reads_unit_config = true, .backs_up_first = true,
     .counts_in_metrics = true, .remedies_failure = true, .judged_by_analysis = true,
     .load_tested = true},
    {.kind = ChangeKind::kRollback, .name = "rollback",
     .needs_ticket = false, .needs_approvals = false,
     .waits_for_players = false, .remedies_failure = true, .undone_with_release = false},
    {.kind = ChangeKind::kConfig, .name = "config",
     .frozen = true, .reads_unit_config = true, .judged_by_analysis = true, .load_tested = true},
    {.kind = ChangeKind::kRehearsal, .name = "rehearsal",
     .frozen = true, .brings_new_build = true, .reads_unit_config = true, .backs_up_first = true,
     .reads_other_environment = true, .recorded_unchanged = true, .judged_by_analysis = true},
    {.kind = ChangeKind::kRestore, .name = "restore",
     .backs_up_first = true, .rollback_target = false, .restarts_in_place = true},
};
// clang-format on

// The row of `kind`.
const ChangeKindRules& rules_of(ChangeKind kind);

std::string_view change_kind_name(ChangeKind kind);
std::optional<ChangeKind> parse_change_kind(std::string_view name);

}  // namespace flotilla
