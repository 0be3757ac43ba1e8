#include "playbooks/deploy_plan.hpp"

#include <map>
#include <set>

#include <fmt/format.h>

#include "core/sha256.hpp"

namespace flotilla {
namespace {

std::set<std::string> file_hashes(const Manifest& manifest,
                                  std::map<std::string, std::uint64_t>& size_of) {
  std::set<std::string> hashes;
  for (const auto& e : manifest.entries) {
    if (e.type != ManifestEntry::Type::kFile) continue;
    hashes.insert(e.sha256);
    size_of[e.sha256] = e.size;
  }
  return hashes;
}

void count_missing(HostPlan& h, const std::vector<std::string>& missing,
                   const std::map<std::string, std::uint64_t>& size_of) {
  h.missing = missing;
  h.files_to_send = missing.size();
  for (const auto& sha : missing) {
    if (auto it = size_of.find(sha); it != size_of.end()) h.bytes_to_send += it->second;
  }
}

}  // namespace

std::set<std::string> manifest_files(const Manifest& manifest) {
  std::map<std::string, std::uint64_t> unused;
  return file_hashes(manifest, unused);
}

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
                            {"target", h.target.release},
                            {"current_config", h.current_config},
                            {"target_config", h.target.config},
                            {"current_secrets", h.current_secrets},
                            {"target_secrets", h.target.secrets},
                            {"change", h.change},
                            {"restart", h.restart},
                            {"files_to_send", h.files_to_send},
                            {"bytes_to_send", h.bytes_to_send},
                            {"bytes_from", bytes_from.empty() ? "controller" : "registry"}};
    if (h.error) entry["error"] = h.error->message;
    host_list.push_back(std::move(entry));
  }
  nlohmann::json batch_list = nlohmann::json::array();
  for (const auto& b : batches) batch_list.push_back({{"canary", b.canary}, {"hosts", b.hosts}});
  return {{"kind", change_kind_name(kind)},
          {"unit", unit},
          {"environment", environment},
          {"artifact", artifact},
          {"config", config},
          {"secrets", secrets},
          {"commit", ref.commit},
          {"branch", ref.branch ? nlohmann::json(*ref.branch) : nlohmann::json()},
          {"restores", restores ? nlohmann::json(*restores) : nlohmann::json()},
          {"hosts", host_list},
          {"batches", batch_list},
          {"bytes_to_send", bytes_to_send},
          {"bytes_from", bytes_from.empty() ? nlohmann::json("controller")
                                            : nlohmann::json({{"registry", bytes_from}})},
          {"checks", checks}};
}

std::string unit_execution_digest(const Unit& unit) {
  auto seconds = [](Duration d) { return std::chrono::duration<double>(d).count(); };
  auto count = [](const HostCount& c) { return nlohmann::json({c.value, c.percent}); };
  nlohmann::json batches = nlohmann::json::array();
  for (const auto& b : unit.rollout.batch) batches.push_back(count(b));
  nlohmann::json notices = nlohmann::json::array();
  for (Duration d : unit.drain.notices) notices.push_back(seconds(d));
  nlohmann::json doc = {
      {"deploy_to", unit.deploy_to},
      {"keep_releases", unit.keep_releases},
      {"run", unit.run},
      {"start", unit.start},
      {"stop", unit.stop},
      {"reload", unit.reload},
      {"config_check", unit.config_check},
      {"health", unit.health
                     ? nlohmann::json({unit.health->command, seconds(unit.health->timeout),
                                       unit.health->retries, seconds(unit.health->interval)})
                     : nlohmann::json()},
      {"drain",
       {unit.drain.command, unit.drain.check, seconds(unit.drain.timeout), unit.drain.players,
        unit.drain.notify, notices, seconds(unit.drain.deadline)}},
      {"backup",
       {unit.backup_command.value_or(""), unit.backup_verify.value_or(""), unit.backup_hosts}},
      {"restore", unit.restore_command.value_or("")},
      {"hooks", unit.hooks},
      {"rollout",
       {unit.rollout.canary, seconds(unit.rollout.bake), batches,
        count(unit.rollout.max_unavailable), unit.rollout.pair_key,
        count(unit.rollout.pair_max_down), unit.rollout.max_failures, unit.rollout.auto_rollback}}};
  // Only with a balancer: the digests of units without one stay what they were.
  if (unit.balancer) doc["balancer"] = balancer_plan(unit);
  return sha256_hex(doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

nlohmann::json balancer_plan(const Unit& unit) {
  if (!unit.balancer) return nullptr;
  const BalancerSpec& b = *unit.balancer;
  return {{"type", b.type},
          {"hosts", b.hosts},
          {"socket", b.socket},
          {"backend", b.backend},
          {"server", b.server},
          {"drain", std::chrono::duration<double>(b.drain).count()},
          {"canary_weight", unit.rollout.canary_weight && unit.rollout.bake.count() > 0
                                ? nlohmann::json(*unit.rollout.canary_weight)
                                : nlohmann::json()}};
}

std::string describe_balancer_plan(const Unit& unit) {
  if (!unit.balancer) return "";
  const BalancerSpec& b = *unit.balancer;
  std::string text = fmt::format(
      "balancer: {} '{}' backend {}: each host drained (up to {}) and put in maint before it "
      "stops, ready again once healthy, and UP on every balancer before its batch counts",
      b.type, b.hosts, b.backend, format_duration(b.drain));
  if (unit.rollout.canary_weight && unit.rollout.bake.count() > 0) {
    text += fmt::format("; the canary takes {:g}% of the backend's traffic for its {} bake",
                        *unit.rollout.canary_weight, format_duration(unit.rollout.bake));
  }
  return text;
}

namespace {

// One surveyed host's step: what it runs, where it goes, whether it
// restarts, and what it must be sent.
HostPlan plan_host(ChangeKind kind, const Unit& unit, const std::string& name, const Survey& survey,
                   const TargetOf& target_of) {
  HostPlan h;
  h.host = name;
  const HostState& state = survey.state;
  h.current = state.release;
  h.current_config = state.config;
  h.current_secrets = state.secrets;
  h.state = state.raw;
  auto target = target_of(h.host, state);
  if (!target) {
    h.target = {state.release.value_or(""), state.config, state.secrets, state.commit,
                state.branch};
    return h;
  }
  h.target = *target;
  const bool can_reload = !unit.reload.empty() || !unit.run.empty();
  bool config_changes = !target->config.empty() && target->config != state.config;
  bool secrets_change = !target->secrets.empty() && target->secrets != state.secrets;
  // Same release but its process is gone, or what runs is not it (an
  // orphan, another release): restart it (a change converges).
  const bool processes_drift =
      !unit.run.empty() && !observe_release(state.processes, true).problems.empty();
  h.restart = target->release != state.release.value_or("") ||
              ((state.stopped || state.failed || processes_drift) && !target->release.empty()) ||
              ((config_changes || secrets_change) && !can_reload);
  // A restore stops, restores and starts the release the host runs.
  if (rules_of(kind).restarts_in_place && state.release) h.restart = true;
  h.change = h.restart || config_changes || secrets_change;
  h.send_secrets = secrets_change;
  h.send_release = h.restart && !target->release.empty() && !state.releases.count(target->release);
  h.send_config = config_changes && !state.configs.count(target->config);
  return h;
}

// Hosts that pruned the release they go back to: ask which files they lack.
void count_pruned(DeployPlan& plan, const std::map<std::string, std::vector<std::size_t>>& lacking,
                  Transport& transport, const HostLayout& layout, const ManifestOf& manifest_of) {
  for (const auto& [release, indexes] : lacking) {
    auto other = manifest_of(release);
    if (!other) {
      for (std::size_t i : indexes) {
        plan.hosts[i].error = Error{
            ErrorKind::kFailed,
            fmt::format("release {} is no longer on this host, and not on this controller: {}",
                        release.substr(0, 12), other.error().message)};
      }
      continue;
    }
    std::map<std::string, std::uint64_t> other_sizes;
    std::set<std::string> other_hashes = file_hashes(*other, other_sizes);
    // plan.hosts[i] is hosts[i] is transport host i.
    auto answers = survey_hosts(transport, indexes, layout, other_hashes);
    for (std::size_t k = 0; k < indexes.size(); ++k) {
      HostPlan& h = plan.hosts[indexes[k]];
      const auto& survey = answers[k];
      if (!survey) {
        h.error = survey.error();
        continue;
      }
      count_missing(h, survey->missing, other_sizes);
    }
  }
}

}  // namespace

DeployPlan make_plan(ChangeKind kind, const Unit& unit, const Environment& env,
                     const Manifest* manifest, const std::vector<PlanTarget>& hosts,
                     const std::vector<Result<Survey>>& surveys, Transport& transport,
                     const TargetOf& target_of, const ManifestOf& manifest_of) {
  DeployPlan plan;
  plan.kind = kind;
  plan.unit = unit.name;
  plan.environment = env.name;
  plan.executes = unit_execution_digest(unit);
  if (manifest != nullptr) plan.artifact = manifest->id;

  std::map<std::string, std::uint64_t> size_of;
  if (manifest != nullptr) file_hashes(*manifest, size_of);
  std::map<std::string, std::vector<std::size_t>> lacking;  // other release -> hosts
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    if (!surveys[i]) {
      HostPlan h;
      h.host = hosts[i].name;
      h.error = surveys[i].error();
      plan.hosts.push_back(std::move(h));
      continue;
    }
    HostPlan h = plan_host(kind, unit, hosts[i].name, *surveys[i], target_of);
    if (h.send_release) {
      if (manifest != nullptr && h.target.release == manifest->id) {
        count_missing(h, surveys[i]->missing, size_of);
      } else {
        lacking[h.target.release].push_back(plan.hosts.size());
      }
    }
    plan.hosts.push_back(std::move(h));
  }
  count_pruned(plan, lacking, transport, HostLayout{unit.deploy_to}, manifest_of);

  std::vector<PlannedHost> changing;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    HostPlan& h = plan.hosts[i];
    if (h.error || !h.change) continue;
    plan.bytes_to_send += h.bytes_to_send;
    changing.push_back({h.host, hosts[i].pair});
  }
  plan.batches = plan_batches(changing, unit.rollout);
  plan.checks.push_back(fmt::format("at most {} of {} hosts out of rotation at once",
                                    resolve_count(unit.rollout.max_unavailable, changing.size()),
                                    changing.size()));
  plan.checks.push_back(
      fmt::format("no two hosts with the same '{}' in one batch", unit.rollout.pair_key));
  return plan;
}

}  // namespace flotilla
