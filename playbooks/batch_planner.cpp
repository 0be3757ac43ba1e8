#include "playbooks/batch_planner.hpp"

#include <algorithm>
#include <map>

namespace flotilla {

std::size_t resolve_count(const HostCount& count, std::size_t total) {
  std::size_t n = count.percent ? (total * static_cast<std::size_t>(count.value) + 99) / 100
                                : static_cast<std::size_t>(count.value);
  return std::max<std::size_t>(1, n);
}

std::vector<Batch> plan_batches(const std::vector<PlannedHost>& hosts,
                                const RolloutPolicy& policy) {
  std::vector<Batch> batches;
  std::vector<const PlannedHost*> remaining;
  for (const auto& h : hosts) remaining.push_back(&h);
  const std::size_t total = hosts.size();
  const std::size_t cap = resolve_count(policy.max_unavailable, total);
  std::map<std::string, std::size_t> group_size;
  for (const auto& h : hosts) {
    if (h.pair) ++group_size[*h.pair];
  }

  // Takes up to `size` hosts in order, at most pair_max_down per redundancy group.
  auto take = [&](std::size_t size) {
    Batch batch;
    std::map<std::string, std::size_t> down;
    std::vector<const PlannedHost*> left;
    for (const PlannedHost* h : remaining) {
      bool pair_busy =
          h->pair && down[*h->pair] >= resolve_count(policy.pair_max_down, group_size[*h->pair]);
      if (batch.hosts.size() < size && !pair_busy) {
        batch.hosts.push_back(h->name);
        if (h->pair) ++down[*h->pair];
      } else {
        left.push_back(h);
      }
    }
    remaining = std::move(left);
    return batch;
  };

  if (policy.canary > 0 && !remaining.empty()) {
    Batch canary = take(std::min<std::size_t>(static_cast<std::size_t>(policy.canary), cap));
    canary.canary = true;
    batches.push_back(std::move(canary));
  }
  std::size_t step = 0;
  while (!remaining.empty()) {
    const HostCount& size = policy.batch[std::min(step, policy.batch.size() - 1)];
    batches.push_back(take(std::min(resolve_count(size, total), cap)));
    ++step;
  }
  return batches;
}

}  // namespace flotilla
