#include "playbooks/change/change_request.hpp"

#include <fmt/format.h>

namespace flotilla {

std::string describe_request(const ChangeRequest& r) {
  switch (r.kind) {
    case ChangeKind::kRollback:
      return r.to ? fmt::format("rollback {} --to {}", r.unit, *r.to) : "rollback " + r.unit;
    case ChangeKind::kConfig:
      return "config push " + r.unit;
    case ChangeKind::kDeploy:
    case ChangeKind::kHotfix:
      break;
  }
  return fmt::format("{} {} --ref {}", change_kind_name(r.kind), r.unit, r.ref);
}

}  // namespace flotilla
