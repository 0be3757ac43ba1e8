#pragma once

#include <fmt/format.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/base64.hpp"
#include "core/transport.hpp"
#include "host_scripts/embedded.hpp"
#include "support/fake_transport.hpp"
#include "support/script_args.hpp"

namespace flotilla::test {

// Hosts modelled in memory, answering each host script (by its HostScript) as
// the real scripts would (survey, assemble, activate, finish, the lock
// scripts): for millisecond tests of the rollout, lock and change workflow.
// The real scripts are tested in host_scripts_test; sshd in the
// integration suites.
class SimulatedFleet {
 public:
  struct Host {
    std::string current;                   // release `current` points to
    std::set<std::string> releases;        // releases/<id>
    nlohmann::json state = nullptr;        // .flotilla/state.json
    std::vector<std::string> history;      // .flotilla/history.jsonl
    std::vector<std::string> activations;  // releases activated, in order
    std::set<std::string> configs;         // config versions received
    std::vector<std::string> backups;      // backups taken, as printed
    // The last activation's options (--config, --restore, --backup, ...).
    std::map<std::string, std::string> last_activation;
  };

  explicit SimulatedFleet(std::size_t count) : hosts(count) {}

  // Every host runs `release` (assembled, current, state recorded), and
  // keeps `others` too.
  void place(const std::string& release, const std::set<std::string>& others = {}) {
    for (auto& h : hosts) {
      h.current = release;
      h.releases = others;
      h.releases.insert(release);
      h.state = {{"unit", "app"}, {"current", {{"release", release}, {"snapshot", 0}}}};
    }
  }

  // A health check that fails on `host` when it activates `release`.
  std::function<bool(std::size_t host, const std::string& release)> fails_health =
      [](std::size_t, const std::string&) { return false; };

  Result<CommandResult> answer(std::size_t index, const RemoteCommand& command) {
    Host& host = hosts.at(index);
    std::vector<std::string> args = script_args(command.command);
    if (!command.script) return CommandResult{0, "", "", ""};  // not a host script
    switch (*command.script) {
      case HostScript::kSurvey:
        return CommandResult{0, "", survey(host), ""};
      case HostScript::kAssemble:
        host.releases.insert(args.at(2));
        return CommandResult{0, "", "", ""};
      case HostScript::kActivate:
        return activate(index, host, args, command.stdin_data);
      case HostScript::kFinish:
        host.history.push_back(command.stdin_data.substr(0, command.stdin_data.size() - 1));
        return CommandResult{0, "", "", ""};
      case HostScript::kLockAcquire:
        if (lock_holder) return CommandResult{static_cast<int>(HostExit::kLockHeld), "", "", ""};
        lock_holder = command.stdin_data;
        return CommandResult{0, "", "", ""};
      case HostScript::kLockHolder:
        return CommandResult{0, "", lock_holder.value_or(""), ""};
      case HostScript::kLockRelease:
        if (lock_holder && args.size() == 2 && lock_holder->find(args[1]) == std::string::npos) {
          return CommandResult{static_cast<int>(HostExit::kNotHolder), "", "", ""};
        }
        lock_holder.reset();
        return CommandResult{0, "", "", ""};
      case HostScript::kLockCounter:
        return CommandResult{0, "", std::to_string(counter) + "\n", ""};
      case HostScript::kSnapshotId:
        counter = std::max(counter, std::stol(args.at(1))) + 1;
        return CommandResult{0, "", std::to_string(counter) + "\n", ""};
      case HostScript::kReceiveDirectory:
        if (args.size() >= 3 && args[2] == "0") host.configs.insert(args.at(1));
        return CommandResult{0, "", "", ""};
      case HostScript::kBackup:
        host.backups.push_back(fmt::format("/backups/{}-{}", index, host.backups.size() + 1));
        return CommandResult{0, "", "taking a backup\n" + host.backups.back() + "\n", ""};
      default:
        return CommandResult{0, "", "", ""};  // verify, logs...: nothing to model
    }
  }

  // The responder to give a FakeTransport.
  FakeTransport::Responder responder() {
    return [this](std::size_t host, const RemoteCommand& command) { return answer(host, command); };
  }

  std::vector<Host> hosts;
  std::optional<std::string> lock_holder;  // the lock host's holder.json
  long counter = 0;                        // the lock host's snapshot counter

 private:
  // As survey.sh frames it: one "NAME BASE64" line per section.
  static std::string survey(const Host& host) {
    std::string releases, history;
    for (const auto& r : host.releases) releases += r + "\n";
    for (const auto& line : host.history) history += line + "\n";
    std::string config = host.state.is_object() ? host.state["current"].value("config", "") : "";
    std::string status = "current " + (host.current.empty() ? "" : "releases/" + host.current) +
                         "\nconfig " + config + "\nsecrets \n";
    std::string configs;
    for (const auto& c : host.configs) configs += c + "\n";
    std::string out;
    for (const auto& [name, text] : {std::pair<const char*, std::string>{
                                         "state", host.state.is_null() ? "" : host.state.dump()},
                                     {"status", status},
                                     {"releases", releases},
                                     {"configs", configs},
                                     {"history", history},
                                     {"missing", ""}}) {
      out += std::string(name) + " " + base64_encode(text) + "\n";
    }
    return out;
  }

  Result<CommandResult> activate(std::size_t index, Host& host,
                                 const std::vector<std::string>& args, const std::string& state) {
    std::string release = option_value(args, "--release");
    if (!release.empty() && !host.releases.count(release)) {
      return CommandResult{static_cast<int>(HostExit::kMissing), "", "",
                           fmt::format("release {} is not on this host\n", release)};
    }
    host.activations.push_back(release);
    host.current = release;
    host.last_activation.clear();
    for (const char* option : {"--config", "--restore", "--backup", "--players"}) {
      if (auto value = option_value(args, option); !value.empty())
        host.last_activation[option] = value;
    }
    if (fails_health(index, release)) {
      return CommandResult{static_cast<int>(HostExit::kHealth), "", "@flotilla:phase starting\n",
                           "health check failed after 1 tries: probe\n"};
    }
    host.state = state.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(state);
    if (std::string record = option_value(args, "--record"); !record.empty()) {
      host.history.push_back(record);
    }
    return CommandResult{0, "", "@flotilla:phase recording\n", ""};
  }
};

}  // namespace flotilla::test
