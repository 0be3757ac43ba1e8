#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/artifact.hpp"
#include "core/reporter.hpp"
#include "core/transport.hpp"
#include "playbooks/deploy_plan.hpp"
#include "playbooks/project.hpp"

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
  std::vector<HostOutcome> hosts;
  std::string summary;
};

// Per host: its transport index and the variables its commands may use.
struct RolloutHost {
  std::size_t index = 0;
  std::map<std::string, std::string> vars;
  nlohmann::json previous_state = nlohmann::json::object();  // what it ran before, from the survey
};

// Executes a plan: first every changing host receives what it lacks and
// assembles the release beside the running one (any failure here stops the
// deploy before a single restart); then batch by batch: stop, switch, start,
// health check. When failures pass `max_failures`, no new host starts, and
// the failed and in-flight hosts go back to their previous release (with
// `auto_rollback`). Reports events as it goes.
RolloutResult execute_rollout(const DeployPlan& plan, const Unit& unit, const Manifest& manifest,
                              const std::string& archive_path,
                              const std::map<std::string, RolloutHost>& hosts, Transport& transport,
                              Reporter& reporter, const std::function<bool()>& interrupted);

const char* outcome_name(HostOutcome::State state);

}  // namespace flotilla
