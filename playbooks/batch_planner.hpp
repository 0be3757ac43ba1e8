#pragma once

#include <optional>
#include <string>
#include <vector>

#include "playbooks/project.hpp"

namespace flotilla {

struct PlannedHost {
  std::string name;
  std::optional<std::string> pair;  // redundancy group (rollout.pair_key host variable)
};

struct Batch {
  bool canary = false;
  std::vector<std::string> hosts;
  bool operator==(const Batch&) const = default;
};

// Orders the hosts that need a change into batches, as a value: first a
// canary batch of `canary` hosts, then batches sized by the `batch` ramp
// (counts or percentages of all hosts in the rollout; the last size
// repeats), each capped by `max_unavailable`, and never more than
// `pair_max_down` members of one redundancy group in the same batch (a batch
// is out of rotation together).
// Hosts keep their inventory order where the rules allow.
std::vector<Batch> plan_batches(const std::vector<PlannedHost>& hosts, const RolloutPolicy& policy);

// A count or percentage of `total`, rounded up, at least 1.
std::size_t resolve_count(const HostCount& count, std::size_t total);

}  // namespace flotilla
