#pragma once

#include <optional>
#include <string>

#include "core/duration.hpp"
#include "snapshots/change_kind.hpp"

namespace flotilla {

// What the user asked to change.
struct ChangeRequest {
  ChangeKind kind = ChangeKind::kDeploy;
  std::string unit;
  std::string ref;  // deploy, hotfix
  std::string ticket;
  std::optional<long> to;       // rollback --to
  Duration lock_wait{0};        // wait this long for the deploy lock, then kLocked
  std::string override_freeze;  // why it may run inside a freeze window ("" = it may not)
};

// "deploy reward --ref master", "rollback reward --to 4": the lock's message.
std::string describe_request(const ChangeRequest& request);

}  // namespace flotilla
