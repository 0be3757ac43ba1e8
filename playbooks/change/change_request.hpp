#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/duration.hpp"
#include "snapshots/change_kind.hpp"

namespace flotilla {

// An artifact some environment already runs, deployed as it is — the same
// bytes and config version, no build: `promote`, and the reset step of a
// `rehearse`.
struct StoredTarget {
  std::string release;  // artifact id
  std::string config;   // config digest ("" = the unit had none)
  std::string commit;   // provenance, as that environment recorded it
  std::string branch;
  std::string environment;  // where it runs now
  long snapshot = 0;        // the snapshot there that says so
};

// What the user asked to change.
struct ChangeRequest {
  ChangeKind kind = ChangeKind::kDeploy;
  std::string unit;
  std::string ref;  // deploy, hotfix, rehearsal
  std::string ticket;
  std::optional<long> to;              // rollback --to; restore --snapshot
  Duration lock_wait{0};               // wait this long for the deploy lock, then kLocked
  std::string override_freeze;         // why it may run inside a freeze window ("" = it may not)
  std::optional<StoredTarget> stored;  // deploy this instead of building (promote, reset)
  // false only for a rehearsal's reset: production's own state may hold a
  // branch the rehearsal environment would not accept from a person.
  bool check_branches = true;
  std::string policy_environment;  // build under this one's branch policy ("" = the target's)
  nlohmann::json rehearsal;  // rehearsal: {"like": ENV, "from": ...}; "to" comes from the plan
  std::string cause;         // started by flotilla itself: "watch:ALERT" ("" = a person asked)
  nlohmann::json evidence = nlohmann::json::array();  // what it saw then: the snapshot's analysis
};

// "deploy reward --ref master", "rollback reward --to 4": the lock's message.
std::string describe_request(const ChangeRequest& request);

}  // namespace flotilla
