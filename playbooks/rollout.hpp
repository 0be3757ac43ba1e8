#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/artifact.hpp"
#include "core/clock.hpp"
#include "core/reporter.hpp"
#include "core/transport.hpp"
#include "playbooks/batch_judge.hpp"
#include "playbooks/config_bundle.hpp"
#include "playbooks/deploy_plan.hpp"
#include "playbooks/host_commands.hpp"
#include "playbooks/project.hpp"
#include "playbooks/rollout_observer.hpp"
#include "playbooks/secret_bundle.hpp"
#include "playbooks/traffic_switch.hpp"

namespace flotilla {

struct HostOutcome {
  std::string host;
  enum class State {
    kUnchanged,
    kUpdated,
    kFailed,
    kRolledBack,
    kNotStarted
  } state = State::kUnchanged;
  std::string detail;
};

struct RolloutResult {
  bool ok = true;
  bool interrupted = false;  // SIGINT: stopped between steps, fleet consistent
  std::vector<HostOutcome> hosts;
  std::string summary;
  std::vector<std::pair<std::string, double>> phases;  // push, batch 1, ...: seconds each
  // Hosts this rollout left out of the balancer's rotation (failed and not
  // rolled back, or given up on mid-step), with why.
  std::map<std::string, std::string> out_of_rotation;
  // Every analysis step (with its measurements), as the snapshot keeps it.
  nlohmann::json analysis = nlohmann::json::array();
};

// Per host: its transport index and the variables its commands may use.
struct RolloutHost {
  std::size_t index = 0;
  std::map<std::string, std::string> vars;
  nlohmann::json previous_state = nlohmann::json::object();  // what it ran before, from the survey
};

// What a rollout may have to send: releases (manifest + stored archive)
// and config versions, by id.
struct ReleaseSource {
  Manifest manifest;
  std::string archive_path;
};
struct RolloutSources {
  std::map<std::string, ReleaseSource> releases;
  // Set once the releases are in the registry: hosts pull from it instead
  // of receiving a push from the controller.
  std::optional<RegistryPull> registry;
  std::map<std::string, ConfigBundle> configs;
  std::optional<SecretBundle> secrets;  // the unit's, as resolved for this change
};

// How a rollout reaches its hosts, says what happened, and waits.
struct RolloutIo {
  Transport& transport;
  RolloutObserver& observer;
  Clock& clock;
  std::function<bool()> interrupted = [] { return false; };
  // The unit's balancer, when it has one: each batch's hosts leave its
  // rotation before they stop and rejoin once healthy.
  TrafficSwitch* traffic = nullptr;
  // The unit's analysis, when this change is judged by one: asked once a
  // batch serves (through the canary's bake, after every other batch); a
  // failed step fails the batch.
  BatchJudge* judge = nullptr;
};

// Executes a plan: first every changing host receives what it lacks and
// assembles its release beside the running one (any failure here stops
// before a single restart); then batch by batch: stop, switch, start (or,
// for a config change, check, switch, reload), health check. When failures
// pass `max_failures`, no new host starts, and the failed and in-flight
// hosts go back to what they ran (with `auto_rollback`). Each host's state
// records `snapshot`; a host with an entry in `records` also writes its part
// of the snapshot's record itself once healthy. Tells `io.observer` what happens as it goes.
RolloutResult execute_rollout(const DeployPlan& plan, const Unit& unit,
                              const RolloutSources& sources,
                              const std::map<std::string, RolloutHost>& hosts, long snapshot,
                              const RolloutIo& io,
                              const std::map<std::string, ActivationRecord>& records = {});

const char* outcome_name(HostOutcome::State state);

}  // namespace flotilla
