#include "playbooks/rollout.hpp"

#include <chrono>
#include <set>
#include <thread>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "core/push_bundle.hpp"
#include "playbooks/host_steps.hpp"
#include "snapshots/host_layout.hpp"

namespace flotilla {
namespace {

std::string now_iso() {
  return fmt::format(
      "{:%Y-%m-%dT%H:%M:%SZ}",
      fmt::gmtime(std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
}

std::string describe(const Result<CommandResult>& r) {
  if (!r) return r.error().message;
  std::string err = r->err;
  while (!err.empty() && err.back() == '\n') err.pop_back();
  if (auto nl = err.rfind('\n'); nl != std::string::npos) err = err.substr(nl + 1);
  return err.empty() ? fmt::format("exit {}", r->exit_status)
                     : fmt::format("{} (exit {})", err, r->exit_status);
}

}  // namespace

const char* outcome_name(HostOutcome::State state) {
  switch (state) {
    case HostOutcome::State::kUnchanged:
      return "unchanged";
    case HostOutcome::State::kUpdated:
      return "updated";
    case HostOutcome::State::kFailed:
      return "failed";
    case HostOutcome::State::kRolledBack:
      return "rolled back";
    case HostOutcome::State::kNotStarted:
      return "not started";
  }
  return "?";
}

RolloutResult execute_rollout(const DeployPlan& plan, const Unit& unit, const Manifest& manifest,
                              const std::string& archive_path,
                              const std::map<std::string, RolloutHost>& hosts, Transport& transport,
                              Reporter& reporter, const std::function<bool()>& interrupted) {
  RolloutResult result;
  std::map<std::string, HostOutcome> outcome;
  HostLayout layout{unit.deploy_to};
  std::set<std::string> changing;
  for (const auto& b : plan.batches) changing.insert(b.hosts.begin(), b.hosts.end());
  for (const auto& h : plan.hosts) {
    outcome[h.host] = {
        h.host,
        changing.count(h.host) ? HostOutcome::State::kNotStarted : HostOutcome::State::kUnchanged,
        ""};
  }
  auto finish = [&](bool ok, std::string summary) {
    result.ok = ok;
    result.summary = std::move(summary);
    for (const auto& h : plan.hosts) result.hosts.push_back(outcome[h.host]);
    reporter.event("deploy_done",
                   {{"ok", ok}, {"artifact", manifest.id}, {"summary", result.summary}});
    return result;
  };

  // Phase 1: push and assemble everywhere, restart nowhere.
  std::map<std::set<std::string>, PushBundle> bundles;  // hosts often lack the same files
  std::vector<HostTask> tasks;
  std::vector<std::string> task_host;
  for (const auto& h : plan.hosts) {
    if (!changing.count(h.host)) continue;
    std::set<std::string> missing(h.missing.begin(), h.missing.end());
    std::size_t index = hosts.at(h.host).index;
    if (!missing.empty()) {
      auto it = bundles.find(missing);
      if (it == bundles.end()) {
        auto bundle = make_push_bundle(archive_path, manifest, missing);
        if (!bundle) return finish(false, bundle.error().message);
        it = bundles.emplace(missing, std::move(*bundle)).first;
      }
      tasks.push_back({index, receive_command(layout, it->second.data, it->second.gzipped)});
      task_host.push_back(h.host);
    }
    tasks.push_back({index, assemble_command(layout, manifest)});
    task_host.push_back(h.host);
    reporter.event("host_push",
                   {{"host", h.host}, {"files", h.files_to_send}, {"bytes", h.bytes_to_send}});
  }
  reporter.progress(
      fmt::format("pushing {} to {} host(s)", manifest.id.substr(0, 12), changing.size()));
  auto pushed = transport.run(tasks);
  std::set<std::string> push_failed;
  for (std::size_t i = 0; i < pushed.size(); ++i) {
    if (pushed[i] && pushed[i]->ok()) continue;
    if (push_failed.insert(task_host[i]).second) {
      outcome[task_host[i]] = {task_host[i], HostOutcome::State::kFailed,
                               "push: " + describe(pushed[i])};
    }
  }
  if (!push_failed.empty()) {
    return finish(false, fmt::format("push failed on {} host(s); no host was restarted, every host "
                                     "still runs what it ran",
                                     push_failed.size()));
  }

  // Phase 2: batches.
  std::size_t failures = 0;
  for (std::size_t b = 0; b < plan.batches.size(); ++b) {
    const Batch& batch = plan.batches[b];
    if (interrupted()) {
      return finish(false, fmt::format("interrupted before batch {}; hosts not yet started keep "
                                       "their release",
                                       b + 1));
    }
    reporter.progress(fmt::format("batch {}/{}{}: {}", b + 1, plan.batches.size(),
                                  batch.canary ? " (canary)" : "", fmt::join(batch.hosts, " ")));
    std::vector<HostTask> activations;
    for (const auto& name : batch.hosts) {
      const RolloutHost& h = hosts.at(name);
      nlohmann::json state = {{"unit", unit.name},
                              {"current",
                               {{"release", manifest.id},
                                {"commit", plan.ref.commit},
                                {"branch", plan.ref.branch.value_or("")},
                                {"since", now_iso()}}},
                              {"previous", h.previous_state.value("current", nlohmann::json())}};
      auto vars = h.vars;
      vars["release"] = manifest.id;
      auto cmd = activate_command(unit, layout, manifest.id, vars, state);
      if (!cmd) return finish(false, cmd.error().message);
      activations.push_back({h.index, std::move(*cmd)});
      reporter.event("host_started", {{"host", name}, {"batch", b + 1}});
    }
    auto activated = transport.run(activations);
    std::vector<std::string> failed_now;
    for (std::size_t i = 0; i < activated.size(); ++i) {
      const std::string& name = batch.hosts[i];
      bool ok = activated[i] && activated[i]->ok();
      outcome[name] = {name, ok ? HostOutcome::State::kUpdated : HostOutcome::State::kFailed,
                       ok ? "" : describe(activated[i])};
      reporter.event("host_done", {{"host", name}, {"ok", ok}, {"detail", outcome[name].detail}});
      if (!ok) failed_now.push_back(name);
    }
    failures += failed_now.size();
    reporter.event("batch_done", {{"batch", b + 1}, {"failed", failed_now.size()}});
    if (failures > static_cast<std::size_t>(unit.rollout.max_failures)) {
      if (!unit.rollout.auto_rollback) {
        return finish(false,
                      fmt::format("{} host(s) failed in batch {}; stopped (auto_rollback is off)",
                                  failed_now.size(), b + 1));
      }
      // Roll back this batch (failed and in-flight alike) to what each ran before.
      std::vector<HostTask> rollbacks;
      for (const auto& name : batch.hosts) {
        const RolloutHost& h = hosts.at(name);
        nlohmann::json previous = h.previous_state.value("current", nlohmann::json());
        std::string release = previous.is_object() ? previous.value("release", "") : "";
        auto vars = h.vars;
        vars["release"] = release;
        nlohmann::json state = h.previous_state;
        auto cmd = activate_command(unit, layout, release, vars, state);
        if (!cmd) return finish(false, cmd.error().message);
        rollbacks.push_back({h.index, std::move(*cmd)});
      }
      auto rolled = transport.run(rollbacks);
      for (std::size_t i = 0; i < rolled.size(); ++i) {
        const std::string& name = batch.hosts[i];
        bool ok = rolled[i] && rolled[i]->ok();
        std::string why = outcome[name].detail;
        outcome[name] = {name, ok ? HostOutcome::State::kRolledBack : HostOutcome::State::kFailed,
                         ok ? (why.empty() ? std::string("in the failed batch") : why)
                            : "rollback failed: " + describe(rolled[i])};
        reporter.event("host_rolled_back", {{"host", name}, {"ok", ok}});
      }
      return finish(false,
                    fmt::format("{} host(s) failed in batch {}{}; that batch was rolled back, "
                                "no further host was touched",
                                failed_now.size(), b + 1, batch.canary ? " (canary)" : ""));
    }
    if (batch.canary && unit.rollout.bake.count() > 0 && b + 1 < plan.batches.size()) {
      reporter.progress(
          fmt::format("canary healthy; baking {}", format_duration(unit.rollout.bake)));
      std::this_thread::sleep_for(unit.rollout.bake);
    }
  }
  std::size_t updated = changing.size();
  return finish(
      failures == 0,
      fmt::format("{} host(s) now run {}{}", updated, manifest.id.substr(0, 12),
                  failures ? fmt::format(" ({} failed within max_failures)", failures) : ""));
}

}  // namespace flotilla
