#include "playbooks/change/change_record.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "playbooks/host_commands.hpp"
#include "playbooks/lock_host/deploy_lock.hpp"
#include "snapshots/fleet_history.hpp"

namespace flotilla {
namespace {

HostRecord record_of(const HostPlan& h, const HostOutcome& outcome) {
  HostRecord r;
  r.before = h.current.value_or("");
  r.config_before = h.current_config;
  switch (outcome.state) {
    case HostOutcome::State::kUpdated:
      r.after = h.target.release;
      r.config_after = h.target.config.empty() ? h.current_config : h.target.config;
      break;
    case HostOutcome::State::kFailed:
      break;  // unknown: never a rollback target
    default:
      r.after = r.before;
      r.config_after = r.config_before;
  }
  r.outcome = outcome_name(outcome.state);
  return r;
}

}  // namespace

Snapshot begin_snapshot(const DeployPlan& plan, const ChangeRequest& request, std::int64_t now) {
  Snapshot snapshot;
  snapshot.environment = plan.environment;
  snapshot.unit = plan.unit;
  snapshot.kind = plan.kind;
  snapshot.artifact = plan.artifact;
  snapshot.config = plan.config;
  snapshot.secrets = plan.secrets;
  snapshot.commit = plan.ref.commit;
  snapshot.branch = plan.ref.branch.value_or("");
  snapshot.ref = request.ref;
  snapshot.ticket = request.ticket;
  snapshot.cause = request.cause;
  snapshot.analysis = request.evidence;
  snapshot.user = controller_user();
  snapshot.controller = controller_host();
  snapshot.started = iso_time(now);
  snapshot.restores = plan.restores;
  snapshot.commit_time = plan.ref.time;
  snapshot.override_freeze = request.override_freeze;
  for (const auto& h : plan.hosts) {
    snapshot.hosts[h.host] = {h.current.value_or(""), h.target.release, h.current_config,
                              h.target.config, h.change ? "running" : "unchanged"};
  }
  return snapshot;
}

void end_snapshot(Snapshot& snapshot, const DeployPlan& plan, const RolloutResult& result,
                  std::int64_t now) {
  for (std::size_t i = 0; i < plan.hosts.size(); ++i) {
    snapshot.hosts[plan.hosts[i].host] = record_of(plan.hosts[i], result.hosts[i]);
  }
  snapshot.outcome = result.ok ? "succeeded" : result.interrupted ? "interrupted" : "failed";
  snapshot.finished = iso_time(now);
  for (const auto& step : result.analysis) snapshot.analysis.push_back(step);
}

Result<std::map<std::string, ActivationRecord>> activation_records(const PreparedChange& prepared,
                                                                   const Snapshot& running,
                                                                   const RecordSigner& sign,
                                                                   std::int64_t now) {
  const DeployPlan& plan = prepared.plan;
  for (const auto& h : plan.hosts) {
    if (h.change && h.send_secrets) return std::map<std::string, ActivationRecord>{};
  }
  // Judged by analysis: the record holds its measurements, known only after
  // the last batch, so it goes to the hosts then.
  if (prepared.unit().analysis && rules_of(plan.kind).judged_by_analysis) {
    return std::map<std::string, ActivationRecord>{};
  }
  Snapshot succeeded = running;
  for (const auto& h : plan.hosts) {
    if (h.change)
      succeeded.hosts[h.host] = record_of(h, {h.host, HostOutcome::State::kUpdated, ""});
  }
  succeeded.outcome = "succeeded";
  succeeded.finished = iso_time(now);
  if (auto signed_ = sign(succeeded); !signed_) return tl::unexpected(signed_.error());
  std::vector<Snapshot> history = prepared.history;
  history.push_back(succeeded);
  const int keep = prepared.unit().keep_releases;
  std::map<std::string, ActivationRecord> records;
  for (const auto& h : plan.hosts) {
    if (!h.change || h.target.release.empty()) continue;
    const HostRecord& r = succeeded.hosts.at(h.host);
    ActivationRecord record{succeeded.for_host(h.host).dump(),
                            releases_to_keep(history, h.host, r.after, keep),
                            configs_to_keep(history, h.host, r.config_after, keep)};
    auto keep_also = [](std::vector<std::string>& kept, const std::string& id) {
      if (!id.empty() && std::find(kept.begin(), kept.end(), id) == kept.end()) kept.push_back(id);
    };
    keep_also(record.keep_releases, r.before);
    keep_also(record.keep_configs, r.config_before);
    records.emplace(h.host, std::move(record));
  }
  return records;
}

bool recorded_by_activations(const PreparedChange& prepared,
                             const std::map<std::string, ActivationRecord>& records,
                             const RolloutResult& result) {
  if (records.empty() || !result.ok || result.interrupted) return false;
  const DeployPlan& plan = prepared.plan;
  for (std::size_t i = 0; i < plan.hosts.size(); ++i) {
    if (!plan.hosts[i].change) continue;
    if (!records.count(plan.hosts[i].host) ||
        result.hosts[i].state != HostOutcome::State::kUpdated) {
      return false;
    }
  }
  return true;
}

void record_on_hosts(const PreparedChange& prepared, const Snapshot& record,
                     const std::vector<Snapshot>& history, Reporter& reporter,
                     const RecordSigner& sign, const std::set<std::string>* only) {
  Snapshot snapshot = record;
  if (auto signed_ = sign(snapshot); !signed_) {
    reporter.warning(fmt::format("snapshot {} goes to the hosts unsigned: {}", snapshot.id,
                                 signed_.error().message));
  }
  const Unit& unit = prepared.unit();
  const UnitFleet& fleet = prepared.fleet;
  HostLayout layout{unit.deploy_to};
  std::vector<HostTask> finishing;
  std::vector<std::string> finishing_hosts;
  for (const auto& h : prepared.plan.hosts) {
    if (only != nullptr && !only->count(h.host)) continue;
    const HostRecord& r = snapshot.hosts.at(h.host);
    std::optional<RetainedVersions> retained;
    if (snapshot.succeeded() && r.outcome != "failed") {
      retained =
          RetainedVersions{releases_to_keep(history, h.host, r.after, unit.keep_releases),
                           configs_to_keep(history, h.host, r.config_after, unit.keep_releases)};
    }
    finishing.push_back({fleet.by_name.at(h.host).index,
                         finish_command(layout, snapshot.for_host(h.host).dump(), retained)});
    finishing_hosts.push_back(h.host);
  }
  if (finishing.empty()) return;
  auto finished = fleet.transport->run(finishing);
  for (std::size_t i = 0; i < finished.size(); ++i) {
    if (!finished[i] || !finished[i]->ok()) {
      reporter.warning(fmt::format("{}: could not record snapshot {} on the host: {}",
                                   finishing_hosts[i], snapshot.id,
                                   finished[i] ? finished[i]->err : finished[i].error().message));
    }
  }
}

}  // namespace flotilla
