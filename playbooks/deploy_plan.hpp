#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/artifact.hpp"
#include "core/git_source.hpp"
#include "core/transport.hpp"
#include "playbooks/batch_planner.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

struct HostPlan {
  std::string host;
  std::optional<std::string> current;  // release now running, from the host itself
  bool change = false;                 // false: already on the target, no restart
  std::size_t files_to_send = 0;
  std::uint64_t bytes_to_send = 0;                  // uncompressed content the host lacks
  std::vector<std::string> missing;                 // sha256s of those files
  nlohmann::json state = nlohmann::json::object();  // the host's state file, as read
  std::optional<Error> error;                       // could not be surveyed
};

// What a deploy would do, as a value: printed by `plan`, executed by `deploy`.
struct DeployPlan {
  std::string unit;
  std::string environment;
  std::string artifact;
  ResolvedRef ref;
  std::vector<HostPlan> hosts;
  std::vector<Batch> batches;  // hosts that change, in rollout order
  std::uint64_t bytes_to_send = 0;
  std::vector<std::string> checks;  // policy checks that passed, for the record

  bool complete() const;  // every host answered
  nlohmann::json to_json() const;
};

struct PlanTarget {
  std::string name;
  std::optional<std::string> pair;
};

// Surveys every host (one round trip each, in parallel: its state and which
// of the artifact's files its store lacks) and plans the batches.
// `hosts[i]` is host i of `transport`.
DeployPlan make_deploy_plan(const Unit& unit, const Environment& env, const Manifest& manifest,
                            const ResolvedRef& ref, const std::vector<PlanTarget>& hosts,
                            Transport& transport);

}  // namespace flotilla
