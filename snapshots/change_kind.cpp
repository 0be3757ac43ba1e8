#include "snapshots/change_kind.hpp"

namespace flotilla {

std::string_view change_kind_name(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kDeploy:
      return "deploy";
    case ChangeKind::kHotfix:
      return "hotfix";
    case ChangeKind::kRollback:
      return "rollback";
    case ChangeKind::kConfig:
      return "config";
    case ChangeKind::kRehearsal:
      return "rehearsal";
    case ChangeKind::kRestore:
      return "restore";
  }
  return "deploy";
}

std::optional<ChangeKind> parse_change_kind(std::string_view name) {
  for (ChangeKind kind : {ChangeKind::kDeploy, ChangeKind::kHotfix, ChangeKind::kRollback,
                          ChangeKind::kConfig, ChangeKind::kRehearsal, ChangeKind::kRestore}) {
    if (change_kind_name(kind) == name) return kind;
  }
  return std::nullopt;
}

}  // namespace flotilla
