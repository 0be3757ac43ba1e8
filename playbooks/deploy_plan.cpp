#include "playbooks/deploy_plan.hpp"

#include <map>
#include <set>

#include <fmt/format.h>

#include "snapshots/host_state.hpp"

namespace flotilla {

bool DeployPlan::complete() const {
  for (const auto& h : hosts) {
    if (h.error) return false;
  }
  return true;
}

nlohmann::json DeployPlan::to_json() const {
  nlohmann::json host_list = nlohmann::json::array();
  for (const auto& h : hosts) {
    nlohmann::json entry = {{"host", h.host},
                            {"current", h.current ? nlohmann::json(*h.current) : nlohmann::json()},
                            {"target", artifact},
                            {"change", h.change},
                            {"files_to_send", h.files_to_send},
                            {"bytes_to_send", h.bytes_to_send}};
    if (h.error) entry["error"] = h.error->message;
    host_list.push_back(std::move(entry));
  }
  nlohmann::json batch_list = nlohmann::json::array();
  for (const auto& b : batches) batch_list.push_back({{"canary", b.canary}, {"hosts", b.hosts}});
  return {{"unit", unit},
          {"environment", environment},
          {"artifact", artifact},
          {"commit", ref.commit},
          {"branch", ref.branch ? nlohmann::json(*ref.branch) : nlohmann::json()},
          {"hosts", host_list},
          {"batches", batch_list},
          {"bytes_to_send", bytes_to_send},
          {"checks", checks}};
}

DeployPlan make_deploy_plan(const Unit& unit, const Environment& env, const Manifest& manifest,
                            const ResolvedRef& ref, const std::vector<PlanTarget>& hosts,
                            Transport& transport) {
  DeployPlan plan;
  plan.unit = unit.name;
  plan.environment = env.name;
  plan.artifact = manifest.id;
  plan.ref = ref;

  std::set<std::string> hashes;
  std::map<std::string, std::uint64_t> size_of;
  for (const auto& e : manifest.entries) {
    if (e.type != ManifestEntry::Type::kFile) continue;
    hashes.insert(e.sha256);
    size_of[e.sha256] = e.size;
  }
  HostLayout layout{unit.deploy_to};
  std::vector<HostTask> tasks;
  for (std::size_t i = 0; i < hosts.size(); ++i)
    tasks.push_back({i, survey_command(layout, hashes)});
  auto results = transport.run(tasks);

  std::vector<PlannedHost> changing;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    HostPlan h;
    h.host = hosts[i].name;
    const auto& r = results[i];
    if (!r) {
      h.error = r.error();
    } else if (!r->ok()) {
      h.error = Error{ErrorKind::kFailed, fmt::format("survey failed: {}", r->err)};
    } else if (auto survey = parse_survey(r->out, layout); !survey) {
      h.error = survey.error();
    } else {
      h.current = survey->state.release;
      h.state = survey->state.raw;
      // Same release but its process is gone: restart it (a deploy converges).
      h.change = h.current != manifest.id || survey->state.stopped;
      if (h.change) {
        h.files_to_send = survey->missing.size();
        h.missing = survey->missing;
        for (const auto& sha : survey->missing) h.bytes_to_send += size_of[sha];
        plan.bytes_to_send += h.bytes_to_send;
        changing.push_back({h.host, hosts[i].pair});
      }
    }
    plan.hosts.push_back(std::move(h));
  }
  plan.batches = plan_batches(changing, unit.rollout);
  plan.checks.push_back(
      fmt::format("ref {} ({}) allowed in {}", ref.given, ref.commit.substr(0, 12), env.name));
  plan.checks.push_back(fmt::format("at most {} of {} hosts out of rotation at once",
                                    resolve_count(unit.rollout.max_unavailable, changing.size()),
                                    changing.size()));
  plan.checks.push_back(
      fmt::format("no two hosts with the same '{}' in one batch", unit.rollout.pair_key));
  return plan;
}

}  // namespace flotilla
