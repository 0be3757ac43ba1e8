#include "playbooks/rollout.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "core/phase_times.hpp"
#include "core/push_bundle.hpp"
#include "playbooks/config_bundle.hpp"
#include "playbooks/host_steps.hpp"
#include "playbooks/push_progress.hpp"
#include "playbooks/rollout_view.hpp"
#include "snapshots/host_layout.hpp"

namespace flotilla {
namespace {

std::string describe(const Result<CommandResult>& r) {
  if (!r) return r.error().message;
  std::string err = r->err;
  while (!err.empty() && err.back() == '\n') err.pop_back();
  if (auto nl = err.rfind('\n'); nl != std::string::npos) err = err.substr(nl + 1);
  return err.empty() ? fmt::format("exit {}", r->exit_status)
                     : fmt::format("{} (exit {})", err, r->exit_status);
}

// -v: everything a host printed during a step, line by line.
void show_output(Reporter& reporter, const std::string& host, const Result<CommandResult>& r) {
  if (reporter.verbosity() == 0 || !r) return;
  for (const std::string* text : {&r->out, &r->err}) {
    std::size_t start = 0;
    while (start < text->size()) {
      std::size_t end = text->find('\n', start);
      if (end == std::string::npos) end = text->size();
      std::string_view line = std::string_view(*text).substr(start, end - start);
      if (line.rfind(kPhaseMarker, 0) != 0) reporter.verbose(fmt::format("{}: {}", host, line));
      start = end + 1;
    }
  }
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

RolloutResult execute_rollout(const DeployPlan& plan, const Unit& unit,
                              const RolloutSources& sources,
                              const std::map<std::string, RolloutHost>& hosts, long snapshot,
                              Transport& transport, Reporter& reporter,
                              const std::function<bool()>& interrupted,
                              const std::map<std::string, ActivationRecord>& records) {
  RolloutResult result;
  std::map<std::string, HostOutcome> outcome;
  std::map<std::string, const HostPlan*> plan_of;
  HostLayout layout{unit.deploy_to};
  for (const auto& h : plan.hosts) {
    plan_of[h.host] = &h;
    outcome[h.host] = {
        h.host, h.change ? HostOutcome::State::kNotStarted : HostOutcome::State::kUnchanged, ""};
  }
  const std::string label = plan.kind == ChangeKind::kConfig ? "config " + plan.config.substr(0, 12)
                            : plan.artifact.empty()          ? std::string("their releases")
                                                             : plan.artifact.substr(0, 12);
  auto finish = [&](bool ok, std::string summary) {
    result.ok = ok;
    result.summary = std::move(summary);
    for (const auto& h : plan.hosts) result.hosts.push_back(outcome[h.host]);
    reporter.event("deploy_done", {{"ok", ok},
                                   {"kind", change_kind_name(plan.kind)},
                                   {"snapshot", snapshot},
                                   {"artifact", plan.artifact},
                                   {"interrupted", result.interrupted},
                                   {"summary", result.summary}});
    return result;
  };

  // Phase 1: push and assemble everywhere, restart nowhere. The phase's time
  // includes making the bundles.
  auto push_started = PhaseTimes::Clock::now();
  std::map<std::pair<std::string, std::set<std::string>>, PushBundle> bundles;
  std::vector<HostTask> tasks;
  std::vector<std::string> task_host;
  std::size_t receiving = 0;
  for (const auto& h : plan.hosts) {
    if (!h.change || (!h.send_release && !h.send_config && !h.send_secrets)) continue;
    std::size_t index = hosts.at(h.host).index;
    if (h.send_release) {
      auto source = sources.releases.find(h.target.release);
      if (source == sources.releases.end()) {
        return finish(false, fmt::format("internal: release {} has no source", h.target.release));
      }
      const ReleaseSource& release = source->second;
      std::set<std::string> missing(h.missing.begin(), h.missing.end());
      const PushBundle* bundle = nullptr;  // the files the host lacks, from here
      if (!missing.empty() && sources.registry) {
        tasks.push_back({index, fetch_command(layout, *sources.registry, h.missing)});
        task_host.push_back(h.host);
      } else if (!missing.empty()) {
        auto key = std::make_pair(release.manifest.id, missing);
        auto it = bundles.find(key);
        if (it == bundles.end()) {
          auto made = make_push_bundle(release.archive_path, release.manifest, missing);
          if (!made) return finish(false, made.error().message);
          it = bundles.emplace(key, std::move(*made)).first;
        }
        bundle = &it->second;
      }
      tasks.push_back({index, assemble_command(layout, release.manifest, bundle)});
      task_host.push_back(h.host);
    }
    if (h.send_config) {
      auto config = sources.configs.find(h.target.config);
      if (config == sources.configs.end()) {
        return finish(false, fmt::format("internal: config {} has no source", h.target.config));
      }
      tasks.push_back({index, config_receive_command(layout, config->second)});
      task_host.push_back(h.host);
    }
    if (h.send_secrets) {
      if (!sources.secrets || sources.secrets->digest != h.target.secrets) {
        return finish(false, "internal: the secrets to deliver were not resolved");
      }
      tasks.push_back({index, secrets_receive_command(layout, *sources.secrets)});
      task_host.push_back(h.host);
    }
    ++receiving;
    reporter.event("host_push", {{"host", h.host},
                                 {"files", h.files_to_send},
                                 {"bytes", h.bytes_to_send},
                                 {"from", sources.registry ? "registry" : "controller"}});
  }
  if (!tasks.empty()) {
    reporter.progress(fmt::format("pushing to {} host(s)", receiving));
    // The bundles are what takes time: those are the bytes the view follows.
    std::vector<PushProgress::Host> watched;
    for (std::size_t i = 0; i < tasks.size(); ++i) {
      RemoteCommand& command = tasks[i].command;
      if (!command.stdin_head) continue;
      command.stdin_sent = std::make_shared<std::atomic<std::size_t>>(0);
      watched.push_back({task_host[i], command.stdin_sent, command.stdin_size()});
    }
    std::optional<PushProgress> progress;
    if (!watched.empty()) progress.emplace(reporter, std::move(watched));
    auto pushed = transport.run(tasks);
    if (progress) progress->finish();
    result.phases.emplace_back("push", seconds_since(push_started));
    std::set<std::string> push_failed;
    for (std::size_t i = 0; i < pushed.size(); ++i) {
      if (pushed[i] && pushed[i]->ok()) continue;
      if (!pushed[i] && (pushed[i].error().kind == ErrorKind::kInterrupted ||
                         pushed[i].error().kind == ErrorKind::kAbandoned))
        result.interrupted = true;
      if (push_failed.insert(task_host[i]).second) {
        outcome[task_host[i]] = {task_host[i], HostOutcome::State::kFailed,
                                 "push: " + describe(pushed[i])};
        reporter.event(
            "host_done",
            {{"host", task_host[i]}, {"ok", false}, {"detail", outcome[task_host[i]].detail}});
      }
    }
    if (result.interrupted) {
      return finish(false, "interrupted during the push; no host was restarted");
    }
    if (!push_failed.empty()) {
      return finish(false,
                    fmt::format("push failed on {} host(s); no host was restarted, every host "
                                "still runs what it ran",
                                push_failed.size()));
    }
  }

  // Phase 2: batches.
  std::size_t failures = 0;
  std::size_t updated = 0;
  auto state_after = [&](const HostPlan& h) {
    const RolloutHost& rh = hosts.at(h.host);
    nlohmann::json previous = rh.previous_state.value("current", nlohmann::json());
    return nlohmann::json{
        {"unit", unit.name},
        {"current",
         {{"release", h.target.release},
          {"config", h.target.config.empty() ? h.current_config : h.target.config},
          {"secrets", h.target.secrets.empty() ? h.current_secrets : h.target.secrets},
          {"commit", h.target.commit},
          {"branch", h.target.branch},
          {"since", iso_time_now()},
          {"snapshot", snapshot}}},
        {"previous", previous}};
  };
  RolloutView view(reporter);
  std::map<std::size_t, std::string> host_at;  // transport index -> name
  for (const auto& [name, rh] : hosts) host_at[rh.index] = name;
  auto feed_view = [&](std::size_t index, bool is_stderr, std::string_view chunk) {
    if (!is_stderr) view.output(host_at[index], chunk);
  };
  for (std::size_t b = 0; b < plan.batches.size(); ++b) {
    const Batch& batch = plan.batches[b];
    if (interrupted()) {
      result.interrupted = true;
      return finish(false, fmt::format("interrupted before batch {}; {} host(s) updated, the "
                                       "others keep what they ran",
                                       b + 1, updated));
    }
    reporter.progress(fmt::format("batch {}/{}{}: {}", b + 1, plan.batches.size(),
                                  batch.canary ? " (canary)" : "", fmt::join(batch.hosts, " ")));
    std::vector<HostTask> activations;
    for (const auto& name : batch.hosts) {
      const HostPlan& h = *plan_of.at(name);
      Activation target{h.target.release,
                        h.target.config,
                        h.target.secrets,
                        h.restart,
                        rules_of(plan.kind).waits_for_players,
                        h.restore_backup};
      if (auto record = records.find(name); record != records.end()) target.record = record->second;
      auto cmd = activate_command(unit, layout, target, hosts.at(name).vars, state_after(h));
      if (!cmd) return finish(false, cmd.error().message);
      activations.push_back({hosts.at(name).index, std::move(*cmd)});
      reporter.event("host_started", {{"host", name}, {"batch", b + 1}, {"restart", h.restart}});
    }
    view.start_batch(
        fmt::format("batch {}/{}{}", b + 1, plan.batches.size(), batch.canary ? " (canary)" : ""),
        batch.hosts);
    auto batch_started = PhaseTimes::Clock::now();
    auto activated = transport.run(activations, feed_view);
    result.phases.emplace_back(fmt::format("batch {}", b + 1), seconds_since(batch_started));
    std::vector<std::string> failed_now;
    bool stopped_by_user = false;
    for (std::size_t i = 0; i < activated.size(); ++i) {
      const std::string& name = batch.hosts[i];
      if (!activated[i] && activated[i].error().kind == ErrorKind::kInterrupted) {
        stopped_by_user = true;  // never started: it keeps what it ran
        continue;
      }
      if (!activated[i] && activated[i].error().kind == ErrorKind::kAbandoned) {
        // Given up on mid-step: where it stands is unknown, never a rollback target.
        stopped_by_user = true;
        view.finish_host(name, false);
        outcome[name] = {name, HostOutcome::State::kFailed, activated[i].error().message};
        reporter.event("host_done",
                       {{"host", name}, {"ok", false}, {"detail", outcome[name].detail}});
        continue;
      }
      bool ok = activated[i] && activated[i]->ok();
      view.finish_host(name, ok);
      show_output(reporter, name, activated[i]);
      outcome[name] = {name, ok ? HostOutcome::State::kUpdated : HostOutcome::State::kFailed,
                       ok ? "" : describe(activated[i])};
      reporter.event("host_done", {{"host", name}, {"ok", ok}, {"detail", outcome[name].detail}});
      if (ok) ++updated;
      if (!ok) failed_now.push_back(name);
    }
    view.end_batch();
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
      std::vector<std::string> rolled_hosts;
      for (const auto& name : batch.hosts) {
        if (outcome[name].state == HostOutcome::State::kNotStarted) continue;
        const HostPlan& h = *plan_of.at(name);
        const RolloutHost& rh = hosts.at(name);
        Activation back{h.current.value_or(""),
                        h.target.config.empty() ? "" : h.current_config,
                        h.target.secrets.empty() ? "" : h.current_secrets,
                        h.restart,
                        /*wait_for_players=*/false,
                        /*restore_backup=*/""};
        auto cmd = activate_command(unit, layout, back, rh.vars, rh.previous_state);
        if (!cmd) return finish(false, cmd.error().message);
        rollbacks.push_back({rh.index, std::move(*cmd)});
        rolled_hosts.push_back(name);
      }
      view.start_batch(fmt::format("rolling back batch {}", b + 1), rolled_hosts);
      auto rollback_started = PhaseTimes::Clock::now();
      auto rolled = transport.run(rollbacks, feed_view);
      result.phases.emplace_back("rollback", seconds_since(rollback_started));
      for (std::size_t i = 0; i < rolled.size(); ++i) {
        const std::string& name = rolled_hosts[i];
        bool ok = rolled[i] && rolled[i]->ok();
        view.finish_host(name, ok);
        show_output(reporter, name, rolled[i]);
        std::string why = outcome[name].detail;
        outcome[name] = {name, ok ? HostOutcome::State::kRolledBack : HostOutcome::State::kFailed,
                         ok ? (why.empty() ? std::string("in the failed batch") : why)
                            : "rollback failed: " + describe(rolled[i])};
        reporter.event("host_rolled_back", {{"host", name}, {"ok", ok}});
      }
      view.end_batch();
      return finish(false,
                    fmt::format("{} host(s) failed in batch {}{}; that batch was rolled back, "
                                "no further host was touched",
                                failed_now.size(), b + 1, batch.canary ? " (canary)" : ""));
    }
    if (stopped_by_user) {
      result.interrupted = true;
      return finish(false, fmt::format("interrupted in batch {}; {} host(s) updated, the others "
                                       "keep what they ran",
                                       b + 1, updated));
    }
    if (batch.canary && unit.rollout.bake.count() > 0 && b + 1 < plan.batches.size()) {
      reporter.progress(
          fmt::format("canary healthy; baking {}", format_duration(unit.rollout.bake)));
      std::this_thread::sleep_for(unit.rollout.bake);
      result.phases.emplace_back("bake", std::chrono::duration<double>(unit.rollout.bake).count());
    }
  }
  return finish(
      failures == 0,
      fmt::format("{} host(s) now run {}{}", updated, label,
                  failures ? fmt::format(" ({} failed within max_failures)", failures) : ""));
}

}  // namespace flotilla
