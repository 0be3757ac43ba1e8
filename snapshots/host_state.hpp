#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/transport.hpp"
#include "snapshots/host_layout.hpp"
#include "snapshots/running_processes.hpp"
#include "snapshots/snapshot.hpp"

namespace flotilla {

// What a host says it runs (`.flotilla/state.json`) and what it has; the
// host is the source of truth, so every controller reads the same fleet.
struct HostState {
  std::optional<std::string> release;  // artifact id the state file names
  std::string config;                  // config digest it names ("" = none)
  std::string commit;
  std::string branch;
  std::string since;     // ISO time of the switch
  long snapshot = 0;     // the snapshot that put it there
  bool stopped = false;  // its supervised start has no live process (it died, or was killed)
  bool failed = false;   // its last activation failed (it runs `release`, unhealthy)
  bool current_not_link = false;   // `current` is a real file or directory: it cannot be switched
  std::string current_link;        // where `current` really points ("" = absent)
  std::string config_link;         // where `shared/config` really points
  std::string secrets;             // digest `shared/secrets` links to ("" = none)
  std::set<std::string> releases;  // releases/<id> present
  std::set<std::string> configs;   // .flotilla/configs/<digest> present
  std::vector<Snapshot> history;   // this host's part of recent snapshots
  RunningProcesses processes;      // what really runs (the survey's `processes`)
  nlohmann::json raw = nlohmann::json::object();
};

// One try of a unit's health command (expanded for its host), bounded.
struct HealthProbe {
  std::string command;
  double seconds = 5;
};

// One round trip that reads a host's state, what it keeps, its part of the
// snapshot history, and which of `sha256s` its content store lacks (the
// list travels on stdin); with `probe`, the health command's verdict too.
RemoteCommand survey_command(const HostLayout& layout, const std::set<std::string>& sha256s,
                             const std::optional<HealthProbe>& probe = std::nullopt);

struct Survey {
  HostState state;
  std::vector<std::string> missing;  // sha256s the host must be sent
  std::optional<bool> healthy;       // with a probe: whether the health command passed
};

// Parses survey_command's output; a malformed state file is an error that
// names the host's file. Nothing in it is trusted: JSON is bounded, names
// that are not release ids or digests are dropped, history lines that are
// not snapshots are skipped.
Result<Survey> parse_survey(const std::string& output, const HostLayout& layout);

// Surveys the transport's hosts `indexes` in parallel (one round trip
// each); an unreachable host or a bad answer is that host's error.
// `probes` (by transport index) add each host's health check to its survey.
// `alongside` run in the same call, after their host's survey (the lock
// host's counter, so it costs no round trip of its own); their results go
// to `alongside_results`.
std::vector<Result<Survey>> survey_hosts(
    Transport& transport, const std::vector<std::size_t>& indexes, const HostLayout& layout,
    const std::set<std::string>& sha256s, const std::map<std::size_t, HealthProbe>& probes = {},
    const std::vector<HostTask>& alongside = {},
    std::vector<Result<CommandResult>>* alongside_results = nullptr);

}  // namespace flotilla
