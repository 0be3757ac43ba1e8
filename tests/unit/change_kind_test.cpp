#include <doctest/doctest.h>

#include <set>
#include <string>

#include "snapshots/change_kind.hpp"

namespace flotilla {
namespace {

// The contract's rules per kind (DESIGN.md: freezes, approvals,
// require_rehearsal, metrics), written out apart from the table so a row
// that drifts from them fails here, row by row.
struct Expected {
  const char* name;
  bool frozen, ticket, approvals;
  RehearsalNeed rehearsal;
  bool build, config, backup, players, other_env, metrics, remedies, target, undone, recorded,
      restarts, judged, load_tested, soak;
};

// clang-format off
constexpr Expected kExpected[] = {
    // name       frozen ticket approv rehearsal                       build config backup players other metric remedy target undone record restart judged load  soak
    {"deploy",    true,  true,  true,  RehearsalNeed::kAlways,         true,  true,  true,  true,  false, true,  false, true,  true,  false, false, true, true,  true},
    {"hotfix",    false, true,  true,  RehearsalNeed::kIfHotfixPolicy, true,  true,  true,  true,  false, true,  true,  true,  true,  false, false, true, true,  false},
    {"rollback",  false, false, false, RehearsalNeed::kNever,          false, false, false, false, false, false, true,  true,  false, false, false, false, false, false},
    {"config",    true,  true,  true,  RehearsalNeed::kNever,          false, true,  false, true,  false, false, false, true,  true,  false, false, true, true,  false},
    {"rehearsal", true,  true,  true,  RehearsalNeed::kNever,          true,  true,  true,  true,  true,  false, false, true,  true,  true,  false, true, false, false},
    {"restore",   false, true,  true,  RehearsalNeed::kNever,          false, false, true,  true,  false, false, false, false, true,  false, true, false, false, false},
};
// clang-format on

}  // namespace

TEST_CASE(
    "the table of change kinds: one row per kind, in the enum's order, as the contract says") {
  REQUIRE(std::size(kChangeKinds) == std::size(kExpected));
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < std::size(kChangeKinds); ++i) {
    const ChangeKindRules& row = kChangeKinds[i];
    const Expected& want = kExpected[i];
    CAPTURE(want.name);
    CHECK(static_cast<std::size_t>(row.kind) == i);
    CHECK(&rules_of(row.kind) == &row);
    CHECK(row.name == want.name);
    CHECK(parse_change_kind(row.name) == row.kind);
    CHECK(change_kind_name(row.kind) == want.name);
    names.insert(row.name);
    CHECK(row.frozen == want.frozen);
    CHECK(row.needs_ticket == want.ticket);
    CHECK(row.needs_approvals == want.approvals);
    CHECK(row.rehearsal == want.rehearsal);
    CHECK(row.brings_new_build == want.build);
    CHECK(row.reads_unit_config == want.config);
    CHECK(row.backs_up_first == want.backup);
    CHECK(row.waits_for_players == want.players);
    CHECK(row.reads_other_environment == want.other_env);
    CHECK(row.counts_in_metrics == want.metrics);
    CHECK(row.remedies_failure == want.remedies);
    CHECK(row.rollback_target == want.target);
    CHECK(row.undone_with_release == want.undone);
    CHECK(row.recorded_unchanged == want.recorded);
    CHECK(row.restarts_in_place == want.restarts);
    CHECK(row.judged_by_analysis == want.judged);
    CHECK(row.load_tested == want.load_tested);
    CHECK(row.needs_soak == want.soak);
  }
  CHECK(names.size() == std::size(kChangeKinds));
  CHECK_FALSE(parse_change_kind("Deploy"));
  CHECK_FALSE(parse_change_kind(""));
}

TEST_CASE(
    "an incident is never held up: rollback needs no ticket, approvals or rehearsal, "
    "and no kind that ends an incident is frozen") {
  for (const ChangeKindRules& row : kChangeKinds) {
    CAPTURE(row.name);
    if (row.remedies_failure) CHECK_FALSE(row.frozen);
  }
  const ChangeKindRules& rollback = rules_of(ChangeKind::kRollback);
  CHECK_FALSE(rollback.needs_ticket);
  CHECK_FALSE(rollback.needs_approvals);
  CHECK(rollback.rehearsal == RehearsalNeed::kNever);
}

}  // namespace flotilla
