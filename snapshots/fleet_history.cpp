#include "snapshots/fleet_history.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "snapshots/change_kind.hpp"

namespace flotilla {
namespace {

// An outcome whose `after` is known to be what the host runs.
bool settled(const HostRecord& r) { return r.outcome != "failed" && r.outcome != "running"; }

// The newest `keep` distinct values of `field` after succeeded changes.
std::vector<std::string> keep_newest(const std::vector<Snapshot>& history, const std::string& host,
                                     const std::string& current, long keep,
                                     std::string HostRecord::*after,
                                     std::string HostRecord::*before) {
  std::vector<std::string> out;
  auto add = [&](const std::string& value) {
    if (!value.empty() && std::find(out.begin(), out.end(), value) == out.end())
      out.push_back(value);
  };
  add(current);
  bool previous_added = false;
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    auto h = it->hosts.find(host);
    if (h == it->hosts.end()) continue;
    if (!previous_added && h->second.*after == current && settled(h->second)) {
      add(h->second.*before);  // the previous release: the first rollback target
      previous_added = true;
    }
    if (it->succeeded() && settled(h->second)) {
      if (static_cast<long>(out.size()) >= keep) break;
      add(h->second.*after);
    }
  }
  return out;
}

}  // namespace

std::map<std::string, HostPosition> fleet_at(const std::vector<Snapshot>& history, long id) {
  std::map<std::string, std::pair<std::string, std::string>>
      provenance;  // release -> commit, branch
  std::map<std::string, HostPosition> out;
  for (const auto& s : history) {
    if (s.id > id) break;
    if (!s.artifact.empty()) provenance[s.artifact] = {s.commit, s.branch};
    for (const auto& [host, r] : s.hosts) {
      if (!settled(r)) continue;
      HostPosition p{r.after, r.config_after, "", "", s.id};
      if (auto it = provenance.find(r.after); it != provenance.end()) {
        p.commit = it->second.first;
        p.branch = it->second.second;
      }
      out[host] = p;
    }
  }
  return out;
}

Result<const Snapshot*> rollback_target(const std::vector<Snapshot>& history,
                                        std::optional<long> to) {
  if (to) {
    for (const auto& s : history) {
      if (s.id != *to) continue;
      if (!s.succeeded()) {
        return fail(ErrorKind::kBadInput,
                    fmt::format("snapshot {} {}: only a succeeded snapshot can be returned to",
                                s.id, s.outcome == "running" ? "never finished" : s.outcome));
      }
      return &s;
    }
    return fail(ErrorKind::kBadInput,
                fmt::format("no snapshot {} for this unit (see `flotilla snapshots list`)", *to));
  }
  // A restore brings data back, not releases: a rollback looks past it.
  auto is_target_kind = [](const Snapshot& s) { return rules_of(s.kind).rollback_target; };
  auto newest = std::find_if(history.rbegin(), history.rend(), is_target_kind);
  if (newest == history.rend())
    return fail(ErrorKind::kBadInput, "no snapshots yet: nothing to roll back to");
  long stands_at = newest->id;
  if (newest->succeeded() && newest->kind == ChangeKind::kRollback && newest->restores) {
    stands_at = *newest->restores;
  }
  for (auto it = newest; it != history.rend(); ++it) {
    if (it->id < stands_at && it->succeeded() && is_target_kind(*it)) return &*it;
  }
  return fail(ErrorKind::kBadInput,
              fmt::format("no succeeded snapshot before {}: nothing to roll back to", stands_at));
}

std::vector<std::string> releases_to_keep(const std::vector<Snapshot>& history,
                                          const std::string& host, const std::string& current,
                                          long keep) {
  return keep_newest(history, host, current, keep, &HostRecord::after, &HostRecord::before);
}

std::vector<std::string> configs_to_keep(const std::vector<Snapshot>& history,
                                         const std::string& host, const std::string& current,
                                         long keep) {
  return keep_newest(history, host, current, keep, &HostRecord::config_after,
                     &HostRecord::config_before);
}

}  // namespace flotilla
