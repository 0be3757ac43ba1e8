#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "playbooks/change/change_request.hpp"
#include "playbooks/change/prepared_change.hpp"
#include "playbooks/project.hpp"
#include "snapshots/snapshot.hpp"

namespace flotilla {

// Whether `env`'s `require_soak` applies to any of these changes (deploys
// and promotes; never a hotfix, rollback, restore or config push).
bool needs_soak(const Environment& env, const std::vector<ChangeRequest>& changes);

// What the soak environment's ledger says about one release and config.
struct SoakEvidence {
  bool required = false;  // the rule applies and the change would change a host
  std::string in;
  std::string min;            // "24h"
  long since_snapshot = 0;    // the change that brought it there, untouched since (0: none)
  std::string since;          // when that change finished
  std::int64_t soaked_s = 0;  // how long it has run there, untouched
  bool soaked = false;        // at least `min`
  nlohmann::json load_test;   // the newest load test on it there (null: none)
  long load_test_snapshot = 0;
  std::string load_test_missing;     // why the load test gate is not met ("" when it is)
  std::vector<std::string> missing;  // per gate, what it lacks ("in loadtest for 3h12m of 24h")

  bool satisfied() const { return required && missing.empty(); }
  nlohmann::json to_json() const;
};

// The soak of `release`/`config` of `unit` in `rule.in`, at `now` (UTC
// seconds): the newest run of succeeded changes there that left every host
// on exactly these bytes, with no rollback, failure or other version after
// its start. `history` is that environment's ledger of the unit.
SoakEvidence soak_of(const SoakRule& rule, const std::vector<Snapshot>& history,
                     const std::string& release, const std::string& config, std::int64_t now);

// The same for one change's plan, reading the soak environment's ledger.
SoakEvidence soak_evidence(const Project& project, const Environment& env,
                           const ChangeRequest& change, const DeployPlan& plan, std::int64_t now);

// `require_soak: {in, min, load_test: passed}`: kBadInput naming the rule
// and, per unit, what is missing, when any change it applies to lacks it.
Result<void> check_soaked(const Project& project, const Environment& env,
                          const std::vector<ChangeRequest>& changes,
                          const std::vector<PreparedChange>& prepared, std::int64_t now);

}  // namespace flotilla
