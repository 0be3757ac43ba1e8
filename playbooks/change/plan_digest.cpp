#include "playbooks/change/plan_digest.hpp"

#include <nlohmann/json.hpp>

#include "core/sha256.hpp"

namespace flotilla {

std::string plan_digest(const DeployPlan& plan) {
  nlohmann::json scope = nlohmann::json::array();
  for (const auto& h : plan.hosts) {
    if (!h.change) continue;
    scope.push_back({{"host", h.host},
                     {"from", h.current.value_or("")},
                     {"to", h.target.release},
                     {"config", h.target.config},
                     {"secrets", h.target.secrets}});
  }
  // Hosts in name order: the same scope is the same digest.
  std::sort(scope.begin(), scope.end(),
            [](const nlohmann::json& a, const nlohmann::json& b) { return a["host"] < b["host"]; });
  nlohmann::json canonical = {
      {"version", 2},
      {"environment", plan.environment},
      {"units", nlohmann::json::array({{{"unit", plan.unit},
                                        {"kind", change_kind_name(plan.kind)},
                                        {"artifact", plan.artifact},
                                        {"config", plan.config},
                                        {"secrets", plan.secrets},
                                        {"executes", plan.executes},
                                        {"restores", plan.restores ? nlohmann::json(*plan.restores)
                                                                   : nlohmann::json()}}})},
      {"scope", scope}};
  return sha256_hex(canonical.dump());
}

std::string release_digest(const std::vector<const DeployPlan*>& plans) {
  if (plans.size() == 1) return plan_digest(*plans.front());
  std::string lines = "flotilla release 1\n";
  for (const DeployPlan* plan : plans) lines += plan->unit + " " + plan_digest(*plan) + "\n";
  return sha256_hex(lines);
}

}  // namespace flotilla
