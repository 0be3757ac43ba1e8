#include "snapshots/running_processes.hpp"
#include "snapshots/short_id.hpp"

#include <sstream>

#include <fmt/format.h>

namespace flotilla {
namespace {

bool is_id(const std::string& text) {
  if (text.empty() || text.size() > 128) return false;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

std::optional<long> pid_of(const std::string& text) {
  if (text.empty() || text.size() > 10 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stol(text);
}

// A process name from a host: printable, short.
std::string command_name(std::string text) {
  if (text.size() > 32) text.resize(32);
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  return text;
}

}  // namespace

RunningProcesses RunningProcesses::parse(const std::string& section) {
  RunningProcesses p;
  std::istringstream in(section);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string kind, a, b, rest;
    fields >> kind >> a >> b;
    std::getline(fields >> std::ws, rest);
    if (kind == "run" && is_id(a) && is_id(b)) {
      p.run = a;
      p.run_release = b;
    } else if (kind == "marked" && pid_of(a) && is_id(b)) {
      p.marked[*pid_of(a)] = b;
    } else if (kind == "session" && pid_of(a)) {
      p.session.insert(*pid_of(a));
    } else if (kind == "from" && pid_of(a) && is_id(b)) {
      p.from[*pid_of(a)] = {b, command_name(rest)};
    }
  }
  return p;
}

ObservedRelease observe_release(const RunningProcesses& processes, bool supervised) {
  ObservedRelease seen;
  std::set<long> live;
  if (supervised) {
    for (const auto& [pid, run] : processes.marked) {
      if (!processes.run.empty() && run == processes.run) live.insert(pid);
    }
    live.insert(processes.session.begin(), processes.session.end());
  } else {
    for (const auto& [pid, from] : processes.from) live.insert(pid);
  }
  std::set<std::string> releases;
  for (long pid : live) {
    if (auto it = processes.from.find(pid); it != processes.from.end()) {
      releases.insert(it->second.release);
    }
  }
  // A start whose processes all left the release directory (a daemon's
  // chdir("/")) runs what it was started in: its mark says which start.
  if (releases.empty() && !live.empty() && !processes.run_release.empty() &&
      processes.session.empty()) {
    releases.insert(processes.run_release);
  }
  seen.running = !live.empty();
  seen.pids.assign(live.begin(), live.end());
  if (releases.size() == 1) seen.release = *releases.begin();
  if (releases.size() > 1) {
    std::vector<std::string> names;
    for (const auto& r : releases) names.push_back(short_id(r, ""));
    seen.problems.push_back(
        fmt::format("the unit's processes run different releases: {}", fmt::join(names, ", ")));
  }
  if (!supervised) return seen;
  auto describe = [&](long pid) {
    auto it = processes.from.find(pid);
    if (it == processes.from.end()) return fmt::format("pid {}", pid);
    return fmt::format("pid {} ({}) from release {}", pid, it->second.command,
                       short_id(it->second.release, ""));
  };
  for (const auto& [pid, run] : processes.marked) {
    if (!live.count(pid)) {
      seen.problems.push_back(
          fmt::format("orphan: {} of an earlier start still runs", describe(pid)));
    }
  }
  for (const auto& [pid, from] : processes.from) {
    if (!live.count(pid) && !processes.marked.count(pid)) {
      seen.problems.push_back(fmt::format(
          "orphan: {} runs from a release but flotilla did not start it", describe(pid)));
    }
  }
  return seen;
}

}  // namespace flotilla
