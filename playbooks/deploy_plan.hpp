#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/artifact.hpp"
#include "core/git_source.hpp"
#include "core/transport.hpp"
#include "playbooks/batch_planner.hpp"
#include "playbooks/config_bundle.hpp"
#include "playbooks/project.hpp"
#include "snapshots/change_kind.hpp"
#include "snapshots/host_state.hpp"

namespace flotilla {

// Where a change should leave one host.
struct HostTarget {
  std::string release;  // "" = nothing (a host that ran nothing before)
  std::string config;   // config digest; "" = leave shared/config as it is
  std::string secrets;  // secrets digest; "" = leave shared/secrets as it is
  std::string commit;   // provenance of `release`, recorded in the host's state
  std::string branch;
};

struct HostPlan {
  std::string host;
  std::optional<std::string> current;  // release now running, from the host itself
  std::string current_config;
  std::string current_secrets;
  HostTarget target;
  bool change = false;        // false: already there, nothing happens on this host
  bool restart = false;       // the release changes (or its process died); else a reload
  bool send_release = false;  // releases/<target> is not on the host: push and assemble
  bool send_config = false;   // its config version is not on the host
  bool send_secrets = false;  // the secrets changed: deliver the new version
  std::size_t files_to_send = 0;
  std::uint64_t bytes_to_send = 0;                  // uncompressed content the host lacks
  std::vector<std::string> missing;                 // sha256s of those files
  nlohmann::json state = nlohmann::json::object();  // the host's state file, as read
  std::optional<Error> error;                       // could not be surveyed or planned
  std::string restore_backup;  // restore: the backup this host brings back (its location)
};

// What a change would do, as a value: printed by `plan`, executed by
// `deploy`, `rollback`, `hotfix` and `config push`.
struct DeployPlan {
  ChangeKind kind = ChangeKind::kDeploy;
  std::string unit;
  std::string environment;
  std::string artifact;  // the release deployed ("" for rollback and config push)
  std::string config;    // the config version pushed ("" when none)
  std::string secrets;   // the secrets version delivered ("" when none declared)
  ResolvedRef ref;
  // rollback: the snapshot returned to; restore: the snapshot whose backup comes back
  std::optional<long> restores;
  std::vector<HostPlan> hosts;
  std::vector<Batch> batches;  // hosts that change, in rollout order
  std::uint64_t bytes_to_send = 0;
  // Where a host's missing files come from: "" = pushed by this controller
  // over SSH; else the registry ("https://host:port/repository") hosts pull from.
  std::string bytes_from;
  std::vector<std::string> checks;  // policy checks that passed, for the record
  // sha256 of everything the change runs on hosts, beside the artifact: the
  // unit's commands (run, start, stop, reload, checks, drain, health,
  // hooks, backup, restore), where it lives and how it rolls out. The plan
  // digest covers it: an approved plan cannot change what it executes.
  std::string executes;

  bool complete() const;  // every host answered
  nlohmann::json to_json() const;
};

// How the unit's balancer takes part (`balancer:` and canary_weight), for
// the plan and the change record; null without a balancer.
nlohmann::json balancer_plan(const Unit& unit);
// The same, in one sentence (empty without a balancer).
std::string describe_balancer_plan(const Unit& unit);

// The `executes` digest of a unit (see DeployPlan).
std::string unit_execution_digest(const Unit& unit);

struct PlanTarget {
  std::string name;
  std::optional<std::string> pair;
};

// Where each host should go, given what it says it runs; nullopt leaves the
// host alone.
using TargetOf =
    std::function<std::optional<HostTarget>(const std::string& host, const HostState& state)>;
// The manifest of a release a host lacks (from the local artifact store).
using ManifestOf = std::function<Result<Manifest>(const std::string& release)>;

// The sha256s of a manifest's files: what a survey asks a host's store about.
std::set<std::string> manifest_files(const Manifest& manifest);

// Decides per host what changes, from `surveys[i]` of `hosts[i]` (host i of
// `transport`, surveyed with manifest_files(*manifest) when `manifest` is
// given), and plans the batches. Hosts that lack some other release they go
// back to are asked once more, about that release's files.
DeployPlan make_plan(ChangeKind kind, const Unit& unit, const Environment& env,
                     const Manifest* manifest, const std::vector<PlanTarget>& hosts,
                     const std::vector<Result<Survey>>& surveys, Transport& transport,
                     const TargetOf& target_of, const ManifestOf& manifest_of);

}  // namespace flotilla
