#pragma once

#include <cstdint>
#include <vector>

#include "core/error.hpp"
#include "playbooks/change/change_request.hpp"
#include "playbooks/change/prepared_change.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

// Whether `env`'s `require_rehearsal` applies to any of these changes:
// deploys and promotes; hotfixes only with `hotfix_requires_rehearsal`;
// never rollbacks or config pushes.
bool needs_rehearsal(const Environment& env, const std::vector<ChangeRequest>& changes);

// What R's ledger says about one change under `env`'s rule.
struct RehearsalEvidence {
  bool required = false;  // the rule applies and the change would change a host
  std::string in;         // the environment rehearsals run in
  long snapshot = 0;      // the rehearsal that covers it (0: none does)
  std::string finished;   // when it finished
  std::string missing;    // why none covers it ("" when one does or none is needed)
};
RehearsalEvidence rehearsal_evidence(const Project& project, const Environment& env,
                                     const ChangeRequest& change, const DeployPlan& plan,
                                     std::int64_t now);

// `require_rehearsal: {in: R, max_age}`: each change it applies to needs a
// succeeded rehearsal in R (this controller's ledger of R) that rehearsed
// `env`, finished within max_age, started from exactly what `env`'s hosts
// run now (read by the plan) and went to exactly this artifact and config.
// kBadInput naming the rule and, per unit, what is missing.
Result<void> check_rehearsed(const Project& project, const Environment& env,
                             const std::vector<ChangeRequest>& changes,
                             const std::vector<PreparedChange>& prepared, std::int64_t now);

}  // namespace flotilla
