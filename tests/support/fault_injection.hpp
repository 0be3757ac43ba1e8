#pragma once

#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/transport_wrapper.hpp"

namespace flotilla::test {

// Forwards to a real or fake transport and breaks what it is told to, one
// task at a time (so a fault lands between two tasks of one run()):
//  - drop_host_at(host, n): the host's nth command (1-based) and every later
//    one fail as unreachable, as if its network went away mid-change;
//  - time_out(label): commands with that label fail with kTimeout;
//  - garbage_from(host, label): that host answers that label with noise;
//  - interrupt_after(label, n): after the nth command with that label,
//    cancel() is called, as Ctrl-C would (what is in flight finishes).
class FaultInjectingTransport : public TransportWrapper {
 public:
  using TransportWrapper::TransportWrapper;

  void drop_host_at(std::size_t host, int nth) { drop_at_[host] = nth; }
  void time_out(std::string label) { time_out_.push_back(std::move(label)); }
  void garbage_from(std::size_t host, std::string label) { garbage_[host] = std::move(label); }
  void interrupt_after(std::string label, int nth) {
    interrupt_label_ = std::move(label);
    interrupt_at_ = nth;
  }
  // The nth command with that label is given up on mid-step, as a second
  // Ctrl-C does (kAbandoned), and nothing new starts.
  void abandon_at(std::string label, int nth) {
    abandon_label_ = std::move(label);
    abandon_at_ = nth;
  }
  // The nth command with that label throws (what a malformed value a
  // check missed does, deep in the workflow).
  void throw_at(std::string label, int nth) {
    throw_label_ = std::move(label);
    throw_at_ = nth;
  }
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
  Result<CommandResult> run_one(const HostTask& task, const OutputFn& on_output) {
    int n = ++commands_[task.host];
    if (task.command.label == throw_label_ && ++throw_seen_ == throw_at_) {
      throw std::runtime_error("injected exception at " + throw_label_);
    }
    if (auto it = drop_at_.find(task.host); it != drop_at_.end() && n >= it->second) {
      return tl::unexpected(Error{ErrorKind::kUnreachable, "connection lost (injected)"});
    }
    for (const auto& label : time_out_) {
      if (task.command.label == label) {
        return tl::unexpected(Error{ErrorKind::kTimeout, "timed out (injected)"});
      }
    }
    if (auto it = garbage_.find(task.host);
        it != garbage_.end() && it->second == task.command.label) {
      return CommandResult{0, "", "\x01garbage\xff not what you asked for\n", ""};
    }
    if (task.command.label == abandon_label_ && ++abandon_seen_ == abandon_at_) {
      cancel();
      return tl::unexpected(
          Error{ErrorKind::kAbandoned, "abandoned by a second Ctrl-C (injected)"});
    }
    auto result = TransportWrapper::run({task}, on_output).front();
    if (task.command.label == interrupt_label_ && ++seen_ == interrupt_at_) cancel();
    return result;
  }

  std::string throw_label_;
  int throw_at_ = 0;
  int throw_seen_ = 0;
  std::map<std::size_t, int> drop_at_;
  std::map<std::size_t, int> commands_;
  std::vector<std::string> time_out_;
  std::map<std::size_t, std::string> garbage_;
  std::string interrupt_label_;
  int interrupt_at_ = 0;
  int seen_ = 0;
  std::string abandon_label_;
  int abandon_at_ = 0;
  int abandon_seen_ = 0;
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
