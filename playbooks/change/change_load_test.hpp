#pragma once

#include <vector>

#include "core/phase_times.hpp"
#include "playbooks/change/change_context.hpp"
#include "playbooks/change/prepared_change.hpp"
#include "playbooks/change/unit_run.hpp"

namespace flotilla {

// Where load tests run: an environment with `load_test:`, or the one a
// `require_soak` with `load_test: passed` names (LOADTEST).
bool runs_load_tests(const Project& project, const Environment& env);

// The load test that covers `unit` in `env`: the unit's own, else the
// environment's; nullptr when none does or load tests do not run there.
const LoadTestSpec* load_test_for(const Project& project, const Environment& env, const Unit& unit);

// After a release's units are in, still under the lock: each load test
// that covers a unit it changed runs once from the controller, and its
// result (figures, limits missed) goes into each covered unit's snapshot,
// signed again, saved here and recorded on the hosts. The change stays
// where it is either way: a failed load test is evidence for the soak
// gate, never a rollback. kFailed when a test failed.
Outcome load_test_after_change(const ChangeContext& context, std::vector<UnitRun>& runs,
                               const std::vector<PreparedChange>& prepared, PhaseTimes& times);

}  // namespace flotilla
