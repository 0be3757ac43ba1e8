#include "snapshots/change_kind.hpp"

namespace flotilla {

const ChangeKindRules& rules_of(ChangeKind kind) {
  return kChangeKinds[static_cast<std::size_t>(kind)];
}

std::string_view change_kind_name(ChangeKind kind) { return rules_of(kind).name; }

std::optional<ChangeKind> parse_change_kind(std::string_view name) {
  for (const ChangeKindRules& row : kChangeKinds) {
    if (row.name == name) return row.kind;
  }
  return std::nullopt;
}

}  // namespace flotilla
