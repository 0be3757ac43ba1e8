#include "playbooks/change/change_request.hpp"

#include <fmt/format.h>

namespace flotilla {

std::string describe_request(const ChangeRequest& r) {
  if (r.stored) {
    const char* verb = r.kind == ChangeKind::kRehearsal ? "rehearse"
                       : r.check_branches               ? "promote"
                                                        : "reset";
    return fmt::format("{} {} --from {}", verb, r.unit, r.stored->environment);
  }
  switch (r.kind) {
    case ChangeKind::kRollback:
      return r.to ? fmt::format("rollback {} --to {}", r.unit, *r.to) : "rollback " + r.unit;
    case ChangeKind::kConfig:
      return "config push " + r.unit;
    case ChangeKind::kRehearsal:
      return fmt::format("rehearse {} --ref {}", r.unit, r.ref);
    case ChangeKind::kRestore:
      return fmt::format("restore {} --snapshot {}", r.unit, r.to.value_or(0));
    case ChangeKind::kDeploy:
    case ChangeKind::kHotfix:
      break;
  }
  return fmt::format("{} {} --ref {}", change_kind_name(r.kind), r.unit, r.ref);
}

}  // namespace flotilla
