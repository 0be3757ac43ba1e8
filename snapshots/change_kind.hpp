#pragma once

#include <optional>
#include <string_view>

namespace flotilla {

// The kinds of change a fleet can undergo; each is recorded in a snapshot
// under its name.
// kRehearsal: a deploy on a rehearsal environment of what another one will
// get (`rehearse`), recorded apart so `require_rehearsal` can find it.
enum class ChangeKind { kDeploy, kHotfix, kRollback, kConfig, kRehearsal, kRestore };

// "deploy", "hotfix", "rollback", "config", "rehearsal", "restore": the names snapshots record.
std::string_view change_kind_name(ChangeKind kind);
std::optional<ChangeKind> parse_change_kind(std::string_view name);

// Changes that bring a new build (and so may back up first).
inline bool brings_new_build(ChangeKind kind) {
  return kind == ChangeKind::kDeploy || kind == ChangeKind::kHotfix ||
         kind == ChangeKind::kRehearsal;
}

}  // namespace flotilla
