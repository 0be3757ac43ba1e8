#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "playbooks/project.hpp"

namespace flotilla {

// `flotilla pipeline`, the release manager's morning view, from this
// controller's ledgers (the fleets' copies folded in by the caller): per
// unit and environment, what runs there (release, commit, branch), since
// when, and for the next step into it (the environment it follows or
// soaks from runs something else) which gates it still lacks: sync,
// rehearsal, soak, load test, approvals, freeze. Plus each environment's
// last pipeline step (a skipped sync says why).
//
// {"now", "environments": [{"environment", "upstream", "last_step"}],
//  "units": [{"unit", "environments": [{"environment", "release", "commit",
//   "branch", "snapshot", "since", "running_s", "upstream", "candidate",
//   "gates": [{"gate", "ok", "detail"}]}]}]}
nlohmann::json pipeline_view(const Project& project, std::int64_t now);

// The same, for people: one block per unit, one line per environment.
std::string pipeline_text(const nlohmann::json& view);

// Where an environment's next release comes from: `follows.env`, else
// `require_soak.in`; "" when neither.
std::string upstream_of(const Environment& env);

}  // namespace flotilla
