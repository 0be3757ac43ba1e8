#pragma once

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/transport_wrapper.hpp"

namespace flotilla::test {

// Forwards to a real or fake transport and breaks what it is told to, one
// task at a time (so a fault lands between two tasks of one run()), by the
// host script a command runs:
//  - drop_host_at(host, n): the host's nth command (1-based) and every later
//    one fail as unreachable, as if its network went away mid-change;
//  - time_out(script): commands running that script fail with kTimeout;
//  - garbage_from(host, script): that host answers that script with noise;
//  - interrupt_after(script, n): after the nth command running that script,
//    cancel() is called, as Ctrl-C would (what is in flight finishes).
class FaultInjectingTransport : public TransportWrapper {
 public:
  using TransportWrapper::TransportWrapper;

  void drop_host_at(std::size_t host, int nth) { drop_at_[host] = nth; }
  void time_out(HostScript script) { time_out_.push_back(script); }
  void garbage_from(std::size_t host, HostScript script) { garbage_[host] = script; }
  void interrupt_after(HostScript script, int nth) { interrupt_ = {script, nth, 0}; }
  // The nth command running that script is given up on mid-step, as a
  // second Ctrl-C does (kAbandoned), and nothing new starts.
  void abandon_at(HostScript script, int nth) { abandon_ = {script, nth, 0}; }
  // The nth command running that script throws (what a malformed value a
  // check missed does, deep in the workflow).
  void throw_at(HostScript script, int nth) { throw_ = {script, nth, 0}; }
  bool interrupted() const { return interrupted_; }

  std::vector<Result<CommandResult>> run(const std::vector<HostTask>& tasks,
                                         const OutputFn& on_output = {}) override {
    std::vector<Result<CommandResult>> results;
    for (const auto& task : tasks) results.push_back(run_one(task, on_output));
    return results;
  }

  void cancel() override {
    interrupted_ = true;
    TransportWrapper::cancel();
  }

 private:
  // The nth command running `script`, counted as they come.
  struct Nth {
    std::optional<HostScript> script;
    int nth = 0;
    int seen = 0;
    bool hit(const RemoteCommand& command) {
      return script && command.script == script && ++seen == nth;
    }
  };

  Result<CommandResult> run_one(const HostTask& task, const OutputFn& on_output) {
    int n = ++commands_[task.host];
    if (throw_.hit(task.command)) {
      throw std::runtime_error("injected exception at " +
                               std::string(host_script_name(*throw_.script)));
    }
    if (auto it = drop_at_.find(task.host); it != drop_at_.end() && n >= it->second) {
      return tl::unexpected(Error{ErrorKind::kUnreachable, "connection lost (injected)"});
    }
    for (HostScript script : time_out_) {
      if (task.command.script == script) {
        return tl::unexpected(Error{ErrorKind::kTimeout, "timed out (injected)"});
      }
    }
    if (auto it = garbage_.find(task.host);
        it != garbage_.end() && task.command.script == it->second) {
      return CommandResult{0, "", "\x01garbage\xff not what you asked for\n", ""};
    }
    if (abandon_.hit(task.command)) {
      cancel();
      return tl::unexpected(
          Error{ErrorKind::kAbandoned, "abandoned by a second Ctrl-C (injected)"});
    }
    auto result = TransportWrapper::run({task}, on_output).front();
    if (interrupt_.hit(task.command)) cancel();
    return result;
  }

  Nth throw_;
  Nth interrupt_;
  Nth abandon_;
  std::map<std::size_t, int> drop_at_;
  std::map<std::size_t, int> commands_;
  std::vector<HostScript> time_out_;
  std::map<std::size_t, HostScript> garbage_;
  bool interrupted_ = false;
};

}  // namespace flotilla::test

namespace flotilla::test {

// What a ConnectFn hands out in tests: host i of this transport is
// hosts[i] of the shared one (inventory indexes), as SSH would connect them.
class IndexMappingTransport : public TransportWrapper {
 public:
  IndexMappingTransport(Transport& shared, std::vector<std::size_t> hosts)
      : TransportWrapper(shared), hosts_(std::move(hosts)) {}

  std::vector<Result<CommandResult>> run(const std::vector<HostTask>& tasks,
                                         const OutputFn& on_output = {}) override {
    std::vector<HostTask> mapped = tasks;
    for (auto& task : mapped) task.host = hosts_.at(task.host);
    OutputFn unmapped;
    if (on_output) {
      unmapped = [this, &on_output](std::size_t host, bool is_stderr, std::string_view chunk) {
        for (std::size_t i = 0; i < hosts_.size(); ++i) {
          if (hosts_[i] == host) on_output(i, is_stderr, chunk);
        }
      };
    }
    return TransportWrapper::run(mapped, unmapped);
  }

 private:
  std::vector<std::size_t> hosts_;
};

}  // namespace flotilla::test
