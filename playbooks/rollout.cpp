#include "playbooks/rollout.hpp"

#include <atomic>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "core/command_failure.hpp"
#include "core/phase_times.hpp"
#include "core/push_bundle.hpp"
#include "playbooks/config_bundle.hpp"
#include "playbooks/host_commands.hpp"
#include "snapshots/host_layout.hpp"

namespace flotilla {
namespace {

bool stopped_short(const Result<CommandResult>& r) {
  return !r &&
         (r.error().kind == ErrorKind::kInterrupted || r.error().kind == ErrorKind::kAbandoned);
}

double seconds_between(Clock::TimePoint from, Clock::TimePoint to) {
  return std::chrono::duration<double>(to - from).count();
}

// One rollout: its phases are methods, its state the hosts' outcomes. It
// only says what happened, to the observer.
class Rollout {
 public:
  Rollout(const DeployPlan& plan, const Unit& unit, const RolloutSources& sources,
          const std::map<std::string, RolloutHost>& hosts, long snapshot, const RolloutIo& io,
          const std::map<std::string, ActivationRecord>& records)
      : plan_(plan),
        unit_(unit),
        sources_(sources),
        hosts_(hosts),
        snapshot_(snapshot),
        io_(io),
        records_(records),
        layout_{unit.deploy_to} {
    for (const auto& h : plan.hosts) {
      plan_of_[h.host] = &h;
      outcome_[h.host] = {
          h.host, h.change ? HostOutcome::State::kNotStarted : HostOutcome::State::kUnchanged, ""};
    }
    for (const auto& [name, rh] : hosts) host_at_[rh.index] = name;
  }

  RolloutResult run() {
    if (auto stopped = push()) return *stopped;
    for (std::size_t b = 0; b < plan_.batches.size(); ++b) {
      if (auto stopped = run_batch(b)) return *stopped;
    }
    const std::string label = plan_.kind == ChangeKind::kConfig
                                  ? "config " + plan_.config.substr(0, 12)
                              : plan_.artifact.empty() ? std::string("their releases")
                                                       : plan_.artifact.substr(0, 12);
    return finish(
        failures_ == 0,
        fmt::format("{} host(s) now run {}{}", updated_, label,
                    failures_ ? fmt::format(" ({} failed within max_failures)", failures_) : ""));
  }

 private:
  RolloutResult finish(bool ok, std::string summary) {
    if (io_.traffic) {
      // Whatever ended the rollout, no canary keeps its bake weight.
      if (auto restored = io_.traffic->restore_weights(io_.observer); !restored) {
        ok = false;
        summary += "; the canary's weights were not restored: " + restored.error().message;
      }
    }
    if (!result_.out_of_rotation.empty()) {
      std::vector<std::string> names;
      for (const auto& [name, why] : result_.out_of_rotation) names.push_back(name);
      summary += fmt::format(
          "; out of the balancer's rotation: {} (`flotilla balancer ready {} "
          "-l {}` puts them back)",
          fmt::join(names, ", "), unit_.name, fmt::join(names, ","));
    }
    result_.ok = ok;
    result_.summary = std::move(summary);
    for (const auto& h : plan_.hosts) result_.hosts.push_back(outcome_[h.host]);
    io_.observer.rollout_done(result_);
    return result_;
  }

  void set_outcome(const std::string& host, HostOutcome::State state, std::string detail) {
    outcome_[host] = {host, state, std::move(detail)};
  }

  Transport::OutputFn output_to_observer() {
    return [this](std::size_t index, bool is_stderr, std::string_view chunk) {
      if (!is_stderr) io_.observer.host_output(host_at_[index], chunk);
    };
  }

  std::optional<RolloutResult> push();
  Result<void> push_tasks(const HostPlan& h, std::vector<HostTask>& tasks,
                          std::vector<std::string>& task_host);
  std::optional<RolloutResult> run_batch(std::size_t b);
  std::size_t rejoin(std::size_t b, const std::vector<std::string>& healthy,
                     const std::vector<std::string>& never_started);
  void hold_failed_out(const Batch& batch);
  std::optional<RolloutResult> judge_batch(std::size_t b);
  RolloutResult roll_back_batch(std::size_t b, std::size_t failed_now, const std::string& why = "");
  nlohmann::json state_after(const HostPlan& h) const;

  const DeployPlan& plan_;
  const Unit& unit_;
  const RolloutSources& sources_;
  const std::map<std::string, RolloutHost>& hosts_;
  long snapshot_;
  const RolloutIo& io_;
  const std::map<std::string, ActivationRecord>& records_;
  HostLayout layout_;
  std::map<std::string, HostOutcome> outcome_;
  std::map<std::string, const HostPlan*> plan_of_;
  std::map<std::size_t, std::string> host_at_;  // transport index -> name
  std::map<std::pair<std::string, std::set<std::string>>, PushBundle> bundles_;
  RolloutResult result_;
  std::size_t failures_ = 0;
  std::size_t updated_ = 0;
  std::set<std::string> not_stopped_;  // failed because the balancer could not take them out
};

// What one host is sent: the release's missing files (pushed from here, or
// pulled from the registry), its config version, its secrets.
Result<void> Rollout::push_tasks(const HostPlan& h, std::vector<HostTask>& tasks,
                                 std::vector<std::string>& task_host) {
  std::size_t index = hosts_.at(h.host).index;
  if (h.send_release) {
    auto source = sources_.releases.find(h.target.release);
    if (source == sources_.releases.end()) {
      return fail(ErrorKind::kFailed,
                  fmt::format("internal: release {} has no source", h.target.release));
    }
    const ReleaseSource& release = source->second;
    std::set<std::string> missing(h.missing.begin(), h.missing.end());
    const PushBundle* bundle = nullptr;  // the files the host lacks, from here
    if (!missing.empty() && sources_.registry) {
      tasks.push_back({index, fetch_command(layout_, *sources_.registry, h.missing)});
      task_host.push_back(h.host);
    } else if (!missing.empty()) {
      auto key = std::make_pair(release.manifest.id, missing);
      auto it = bundles_.find(key);
      if (it == bundles_.end()) {
        auto made = make_push_bundle(release.archive_path, release.manifest, missing);
        if (!made) return tl::unexpected(made.error());
        it = bundles_.emplace(key, std::move(*made)).first;
      }
      bundle = &it->second;
    }
    tasks.push_back({index, assemble_command(layout_, release.manifest, bundle)});
    task_host.push_back(h.host);
  }
  if (h.send_config) {
    auto config = sources_.configs.find(h.target.config);
    if (config == sources_.configs.end()) {
      return fail(ErrorKind::kFailed,
                  fmt::format("internal: config {} has no source", h.target.config));
    }
    tasks.push_back({index, config_receive_command(layout_, config->second)});
    task_host.push_back(h.host);
  }
  if (h.send_secrets) {
    if (!sources_.secrets || sources_.secrets->digest != h.target.secrets) {
      return fail(ErrorKind::kFailed, "internal: the secrets to deliver were not resolved");
    }
    tasks.push_back({index, secrets_receive_command(layout_, *sources_.secrets)});
    task_host.push_back(h.host);
  }
  return {};
}

// Phase 1: push and assemble everywhere, restart nowhere. The phase's time
// includes making the bundles. A result: the rollout stopped here.
std::optional<RolloutResult> Rollout::push() {
  auto push_started = io_.clock.now();
  std::vector<HostTask> tasks;
  std::vector<std::string> task_host;
  std::size_t receiving = 0;
  for (const auto& h : plan_.hosts) {
    if (!h.change || (!h.send_release && !h.send_config && !h.send_secrets)) continue;
    if (auto added = push_tasks(h, tasks, task_host); !added) {
      return finish(false, added.error().message);
    }
    ++receiving;
    io_.observer.host_push(h.host, h.files_to_send, h.bytes_to_send, sources_.registry.has_value());
  }
  if (tasks.empty()) return std::nullopt;
  std::vector<PushProgress::Host> watched;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    RemoteCommand& command = tasks[i].command;
    if (!command.stdin_head) continue;
    command.stdin_sent = std::make_shared<std::atomic<std::size_t>>(0);
    watched.push_back({task_host[i], command.stdin_sent, command.stdin_size()});
  }
  io_.observer.push_started(receiving, watched);
  auto pushed = io_.transport.run(tasks);
  io_.observer.push_finished();
  result_.phases.emplace_back("push", seconds_between(push_started, io_.clock.now()));
  std::set<std::string> push_failed;
  for (std::size_t i = 0; i < pushed.size(); ++i) {
    if (pushed[i] && pushed[i]->ok()) continue;
    if (stopped_short(pushed[i])) result_.interrupted = true;
    if (push_failed.insert(task_host[i]).second) {
      set_outcome(task_host[i], HostOutcome::State::kFailed, "push: " + command_failure(pushed[i]));
      io_.observer.host_done(task_host[i], false, outcome_[task_host[i]].detail, nullptr);
    }
  }
  if (result_.interrupted) {
    return finish(false, "interrupted during the push; no host was restarted");
  }
  if (!push_failed.empty()) {
    return finish(false, fmt::format("push failed on {} host(s); no host was restarted, every "
                                     "host still runs what it ran",
                                     push_failed.size()));
  }
  return std::nullopt;
}

// What a host's state file says once its activation succeeded.
nlohmann::json Rollout::state_after(const HostPlan& h) const {
  const RolloutHost& rh = hosts_.at(h.host);
  nlohmann::json previous = rh.previous_state.value("current", nlohmann::json());
  return nlohmann::json{
      {"unit", unit_.name},
      {"current",
       {{"release", h.target.release},
        {"config", h.target.config.empty() ? h.current_config : h.target.config},
        {"secrets", h.target.secrets.empty() ? h.current_secrets : h.target.secrets},
        {"commit", h.target.commit},
        {"branch", h.target.branch},
        {"since", iso_time_now()},
        {"snapshot", snapshot_}}},
      {"previous", previous}};
}

// Phase 2, one batch: take its hosts out of the balancer's rotation,
// activate them at once, put the healthy ones back, then bake after a
// healthy canary. A result: the rollout stopped here.
std::optional<RolloutResult> Rollout::run_batch(std::size_t b) {
  const Batch& batch = plan_.batches[b];
  if (io_.interrupted()) {
    result_.interrupted = true;
    return finish(false, fmt::format("interrupted before batch {}; {} host(s) updated, the "
                                     "others keep what they ran",
                                     b + 1, updated_));
  }
  std::map<std::string, RemoteCommand> commands;
  for (const auto& name : batch.hosts) {
    const HostPlan& h = *plan_of_.at(name);
    Activation target{h.target.release,
                      h.target.config,
                      h.target.secrets,
                      h.restart,
                      rules_of(plan_.kind).waits_for_players,
                      h.restore_backup};
    if (auto record = records_.find(name); record != records_.end()) target.record = record->second;
    auto cmd = activate_command(unit_, layout_, target, hosts_.at(name).vars, state_after(h));
    if (!cmd) return finish(false, cmd.error().message);
    commands.emplace(name, std::move(*cmd));
  }
  io_.observer.batch_started(b, plan_.batches.size(), batch);
  for (const auto& name : batch.hosts) {
    io_.observer.host_started(name, b, plan_of_.at(name)->restart);
  }
  auto batch_started = io_.clock.now();
  std::size_t failed_now = 0;
  std::vector<std::string> going = batch.hosts;  // the hosts that activate
  if (io_.traffic) {
    // A balancer that cannot take a host out fails it before it stops.
    for (const auto& [name, why] : io_.traffic->take_out(batch.hosts, io_.observer)) {
      set_outcome(name, HostOutcome::State::kFailed, why + "; not stopped");
      io_.observer.host_done(name, false, outcome_[name].detail, nullptr);
      not_stopped_.insert(name);
      std::erase(going, name);
      ++failed_now;
    }
  }
  std::vector<HostTask> activations;
  for (const auto& name : going) {
    activations.push_back({hosts_.at(name).index, std::move(commands.at(name))});
  }
  auto activated = io_.transport.run(activations, output_to_observer());
  bool stopped_by_user = false;
  std::vector<std::string> healthy, never_started;
  for (std::size_t i = 0; i < activated.size(); ++i) {
    const std::string& name = going[i];
    if (!activated[i] && activated[i].error().kind == ErrorKind::kInterrupted) {
      stopped_by_user = true;  // never started: it keeps what it ran
      never_started.push_back(name);
      continue;
    }
    if (!activated[i] && activated[i].error().kind == ErrorKind::kAbandoned) {
      // Given up on mid-step: where it stands is unknown, never a rollback target.
      stopped_by_user = true;
      set_outcome(name, HostOutcome::State::kFailed, activated[i].error().message);
      io_.observer.host_done(name, false, outcome_[name].detail, nullptr);
      if (io_.traffic) result_.out_of_rotation[name] = "given up on mid-step";
      continue;
    }
    bool ok = activated[i] && activated[i]->ok();
    set_outcome(name, ok ? HostOutcome::State::kUpdated : HostOutcome::State::kFailed,
                ok ? "" : command_failure(activated[i]));
    if (ok) {
      healthy.push_back(name);
      continue;
    }
    io_.observer.host_done(name, false, outcome_[name].detail, &activated[i]);
    ++failed_now;
  }
  if (io_.traffic) failed_now += rejoin(b, healthy, never_started);
  for (std::size_t i = 0; i < activated.size(); ++i) {
    const std::string& name = going[i];
    if (std::find(healthy.begin(), healthy.end(), name) == healthy.end()) continue;
    bool ok = outcome_[name].state == HostOutcome::State::kUpdated;
    io_.observer.host_done(name, ok, outcome_[name].detail, &activated[i]);
    if (ok) ++updated_;
  }
  result_.phases.emplace_back(fmt::format("batch {}", b + 1),
                              seconds_between(batch_started, io_.clock.now()));
  failures_ += failed_now;
  io_.observer.batch_done(b, failed_now);
  if (failures_ > static_cast<std::size_t>(unit_.rollout.max_failures)) {
    if (!unit_.rollout.auto_rollback) {
      hold_failed_out(batch);
      return finish(false, fmt::format("{} host(s) failed in batch {}; stopped (auto_rollback is "
                                       "off)",
                                       failed_now, b + 1));
    }
    return roll_back_batch(b, failed_now);
  }
  hold_failed_out(batch);
  if (stopped_by_user) {
    result_.interrupted = true;
    return finish(false, fmt::format("interrupted in batch {}; {} host(s) updated, the others "
                                     "keep what they ran",
                                     b + 1, updated_));
  }
  const bool bakes = batch.canary && unit_.rollout.bake.count() > 0 && b + 1 < plan_.batches.size();
  const auto bake_started = io_.clock.now();
  if (bakes) io_.observer.baking(unit_.rollout.bake);
  if (io_.judge) {
    if (auto stopped = judge_batch(b)) return *stopped;
  }
  if (bakes) {
    // The analysis ran inside the bake; the rest of it is waited out.
    auto judged = std::chrono::duration_cast<Duration>(io_.clock.now() - bake_started);
    if (judged < unit_.rollout.bake) io_.clock.sleep_for(unit_.rollout.bake - judged);
    result_.phases.emplace_back("bake", seconds_between(bake_started, io_.clock.now()));
    if (io_.traffic) {
      if (auto restored = io_.traffic->restore_weights(io_.observer); !restored) {
        return finish(false, "after the bake: " + restored.error().message);
      }
    }
  }
  return std::nullopt;
}

// With a balancer, after a batch's activations: the healthy hosts (the
// canary at its weight) and those never stopped go back into rotation. A
// healthy host that does not come back UP fails; returns how many did.
std::size_t Rollout::rejoin(std::size_t b, const std::vector<std::string>& healthy,
                            const std::vector<std::string>& never_started) {
  const Batch& batch = plan_.batches[b];
  std::size_t failed = 0;
  auto fail_host = [&](const std::string& name, const std::string& why) {
    set_outcome(name, HostOutcome::State::kFailed, why);
    ++failed;
  };
  const auto& weight = unit_.rollout.canary_weight;
  if (weight && batch.canary && unit_.rollout.bake.count() > 0 && b + 1 < plan_.batches.size() &&
      !healthy.empty()) {
    if (auto weighed = io_.traffic->weigh_canaries(healthy, *weight, io_.observer); !weighed) {
      for (const auto& name : healthy) fail_host(name, "canary_weight: " + weighed.error().message);
    }
  }
  std::vector<std::string> back;
  for (const auto& name : healthy) {
    if (outcome_[name].state == HostOutcome::State::kUpdated) back.push_back(name);
  }
  back.insert(back.end(), never_started.begin(), never_started.end());
  for (const auto& [name, why] : io_.traffic->put_back(back, io_.observer)) {
    if (outcome_[name].state == HostOutcome::State::kUpdated) {
      fail_host(name, why);
    } else {
      result_.out_of_rotation[name] = why;
    }
  }
  return failed;
}

// Failed hosts nobody sends back stay out of rotation: said, not hidden.
void Rollout::hold_failed_out(const Batch& batch) {
  if (!io_.traffic) return;
  for (const auto& name : batch.hosts) {
    if (outcome_[name].state == HostOutcome::State::kFailed && !not_stopped_.contains(name)) {
      result_.out_of_rotation.try_emplace(name, "failed: " + outcome_[name].detail);
    }
  }
}

// Past max_failures: this batch (failed and in-flight alike) goes back to
// what each host ran, and nothing else starts.
RolloutResult Rollout::roll_back_batch(std::size_t b, std::size_t failed_now,
                                       const std::string& why_failed) {
  const Batch& batch = plan_.batches[b];
  std::vector<HostTask> rollbacks;
  std::vector<std::string> rolled_hosts;
  for (const auto& name : batch.hosts) {
    if (outcome_[name].state == HostOutcome::State::kNotStarted || not_stopped_.contains(name))
      continue;
    const HostPlan& h = *plan_of_.at(name);
    const RolloutHost& rh = hosts_.at(name);
    Activation back{h.current.value_or(""),
                    h.target.config.empty() ? "" : h.current_config,
                    h.target.secrets.empty() ? "" : h.current_secrets,
                    h.restart,
                    /*wait_for_players=*/false,
                    /*restore_backup=*/""};
    auto cmd = activate_command(unit_, layout_, back, rh.vars, rh.previous_state);
    if (!cmd) return finish(false, cmd.error().message);
    rollbacks.push_back({rh.index, std::move(*cmd)});
    rolled_hosts.push_back(name);
  }
  io_.observer.rollback_started(b, rolled_hosts);
  auto rollback_started = io_.clock.now();
  if (io_.traffic) {
    // Back from rotation (the canary's weight too) before they restart again.
    (void)io_.traffic->restore_weights(io_.observer);
    for (const auto& [name, why] : io_.traffic->take_out(rolled_hosts, io_.observer)) {
      result_.out_of_rotation[name] = why;
    }
  }
  auto rolled = io_.transport.run(rollbacks, output_to_observer());
  std::vector<std::string> serving;
  for (std::size_t i = 0; i < rolled.size(); ++i) {
    const std::string& name = rolled_hosts[i];
    bool ok = rolled[i] && rolled[i]->ok();
    std::string why = outcome_[name].detail;
    set_outcome(name, ok ? HostOutcome::State::kRolledBack : HostOutcome::State::kFailed,
                ok ? (why.empty() ? std::string("in the failed batch") : why)
                   : "rollback failed: " + command_failure(rolled[i]));
    if (ok) {
      serving.push_back(name);
    } else if (io_.traffic) {
      result_.out_of_rotation[name] = outcome_[name].detail;
    }
  }
  if (io_.traffic) {
    auto not_back = io_.traffic->put_back(serving, io_.observer);
    for (const auto& name : serving) {
      // Serving its old release and UP again: whatever kept it out is over.
      if (!not_back.contains(name)) result_.out_of_rotation.erase(name);
    }
    for (const auto& [name, why] : not_back) result_.out_of_rotation[name] = why;
  }
  result_.phases.emplace_back("rollback", seconds_between(rollback_started, io_.clock.now()));
  for (std::size_t i = 0; i < rolled.size(); ++i) {
    io_.observer.host_rolled_back(
        rolled_hosts[i], outcome_[rolled_hosts[i]].state == HostOutcome::State::kRolledBack,
        rolled[i]);
  }
  io_.observer.rollback_done();
  if (!why_failed.empty()) {
    return finish(false, fmt::format("{}; batch {}{} was rolled back, no further host was touched",
                                     why_failed, b + 1, batch.canary ? " (canary)" : ""));
  }
  return finish(false, fmt::format("{} host(s) failed in batch {}{}; that batch was rolled back, "
                                   "no further host was touched",
                                   failed_now, b + 1, batch.canary ? " (canary)" : ""));
}

// The batch's hosts serve: the unit's analysis judges them against the
// hosts not yet changed. A failed step fails every host the batch changed.
std::optional<RolloutResult> Rollout::judge_batch(std::size_t b) {
  const Batch& batch = plan_.batches[b];
  std::vector<std::string> changed, baseline;
  for (const auto& name : batch.hosts) {
    if (outcome_[name].state == HostOutcome::State::kUpdated) changed.push_back(name);
  }
  if (changed.empty()) return std::nullopt;
  for (const auto& h : plan_.hosts) {
    if (h.change && outcome_[h.host].state == HostOutcome::State::kNotStarted) {
      baseline.push_back(h.host);
    }
  }
  const std::string step = batch.canary ? "canary" : fmt::format("batch {}", b + 1);
  auto started = io_.clock.now();
  Judgement judgement = io_.judge->judge(step, changed, baseline, io_.observer, io_.interrupted);
  result_.phases.emplace_back("analysis " + step, seconds_between(started, io_.clock.now()));
  result_.analysis.push_back(std::move(judgement.record));
  switch (judgement.verdict) {
    case Judgement::Verdict::kPassed:
      return std::nullopt;
    case Judgement::Verdict::kInterrupted:
      result_.interrupted = true;
      return finish(false, fmt::format("interrupted during the analysis of {}; {} host(s) "
                                       "updated, the others keep what they ran",
                                       step, updated_));
    case Judgement::Verdict::kFailed:
      break;
  }
  for (const auto& name : changed) {
    set_outcome(name, HostOutcome::State::kFailed, "analysis failed");
  }
  updated_ -= changed.size();
  failures_ += changed.size();
  if (!unit_.rollout.auto_rollback) {
    // They serve, in rotation: nothing is held out.
    return finish(false, judgement.why + "; stopped (auto_rollback is off)");
  }
  return roll_back_batch(b, changed.size(), judgement.why);
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
                              const RolloutIo& io,
                              const std::map<std::string, ActivationRecord>& records) {
  return Rollout(plan, unit, sources, hosts, snapshot, io, records).run();
}

}  // namespace flotilla
