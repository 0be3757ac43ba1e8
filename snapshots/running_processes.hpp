#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace flotilla {

// A unit's processes on one host as the host's /proc shows them
// (host_scripts/processes.sh, the survey's `processes` section): never what
// a pid or state file claims.
struct RunningProcesses {
  struct FromRelease {
    std::string release;  // the release its cwd or executable lies in
    std::string command;  // its name (/proc/PID/comm)
  };
  std::string run;                     // the newest marked start ("" = none)
  std::string run_release;             // the release that start was made in
  std::map<long, std::string> marked;  // pid -> the start whose mark it carries
  std::set<long> session;              // a start made before marks: its session
  std::map<long, FromRelease> from;    // processes running from a release

  // Reads the section's lines; anything malformed is dropped.
  static RunningProcesses parse(const std::string& section);
};

// What runs, derived from the processes. For a supervised unit (`run:`),
// the live start's processes; for `start:`/`stop:` units, every process
// running from one of the unit's releases.
struct ObservedRelease {
  bool running = false;                // processes of the unit's start are alive
  std::optional<std::string> release;  // the release they run (none: not running, or mixed)
  std::vector<long> pids;
  std::vector<std::string> problems;  // orphans, mixed releases: drift, one line each
};

ObservedRelease observe_release(const RunningProcesses& processes, bool supervised);

}  // namespace flotilla
