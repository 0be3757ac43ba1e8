#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/duration.hpp"
#include "core/error.hpp"
#include "host_scripts/embedded.hpp"

namespace flotilla {

// How to reach one host; resolved from inventory variables (which win) and
// ~/.ssh/config.
struct HostAddress {
  std::string name;     // inventory name, shown to users
  std::string address;  // ansible_host, or the name
  int port = 22;
  std::string user;
  std::vector<std::string> identity_files;  // tried in order, after ssh-agent keys
  // Reach the host through this bastion (ProxyJump; one hop).
  std::shared_ptr<const HostAddress> jump;
};

// A command for one host. `command` is run by the remote user's shell, so it
// must be built with shell_quote() for every value it carries.
struct RemoteCommand {
  std::string command;
  std::string stdin_data;  // sent on the channel, never on the command line
  Duration timeout = std::chrono::minutes(10);
  std::string label = {};  // what it is ("activate"...): for logs and fake transports
  // Sent before stdin_data, and shared: the large bytes many hosts' commands
  // carry (a push bundle) are held once, not once per host.
  std::shared_ptr<const std::string> stdin_head = {};
  // When set, the transport stores here how many bytes of stdin it has sent
  // so far, as it sends them: for a live view of a push.
  std::shared_ptr<std::atomic<std::size_t>> stdin_sent = {};
  // Started only as fast as the hosts' shells start (CommandStarts in the
  // SSH transport). Off for what the operator batched (activations) and
  // what its bytes bound (pushes): those start together.
  bool paced = true;
  // Which host script it runs (script_command sets it): what fakes and
  // fault injection answer by.
  std::optional<HostScript> script = {};

  std::size_t stdin_size() const {
    return (stdin_head ? stdin_head->size() : 0) + stdin_data.size();
  }
  // The bytes of stdin from `offset` to the end of the part it falls in.
  std::string_view stdin_from(std::size_t offset) const {
    std::size_t head = stdin_head ? stdin_head->size() : 0;
    if (offset < head) return std::string_view(*stdin_head).substr(offset);
    return std::string_view(stdin_data).substr(offset - head);
  }
};

struct HostTask {
  std::size_t host = 0;  // index into the transport's host list
  RemoteCommand command;
};

struct CommandResult {
  int exit_status = -1;
  std::string exit_signal;  // e.g. "KILL" when killed by a signal
  std::string out;
  std::string err;
  bool ok() const { return exit_status == 0 && exit_signal.empty(); }
};

// Every side effect on a host goes through here, so the same code runs
// against real SSH and against FakeTransport in unit tests.
class Transport {
 public:
  using OutputFn = std::function<void(std::size_t host, bool is_stderr, std::string_view chunk)>;

  virtual ~Transport() = default;

  // Runs every task, hosts in parallel, tasks for one host in order; one
  // result per task in the same order. A host that cannot be reached fails
  // with kUnreachable, a task past its deadline with kTimeout, a task never
  // started because of cancel() with kInterrupted.
  virtual std::vector<Result<CommandResult>> run(const std::vector<HostTask>& tasks,
                                                 const OutputFn& on_output = {}) = 0;

  // Safe from a signal handler: finish what is in flight, start nothing new.
  virtual void cancel() = 0;
  // Takes work again after cancel(): for the bookkeeping that must follow an
  // interruption (recording on the hosts where each one stands).
  virtual void resume() = 0;
  // Safe from a signal handler: cancel(), and stop waiting for what is in
  // flight too (it fails with kAbandoned; the hosts finish on their own).
  virtual void abandon() { cancel(); }
  // Between these, cancel() and abandon() are remembered but not acted on:
  // the bookkeeping after an interruption (where each host stands, the
  // lock's release, a host back into rotation) must not be cut short by the
  // very Ctrl-C that asked for it. Nested holds count. See InterruptHold.
  virtual void hold_interrupts() {}
  virtual void release_interrupts() {}
};

// Holds a transport's interrupts for one scope (a third Ctrl-C still exits
// the process at once).
class InterruptHold {
 public:
  explicit InterruptHold(Transport& transport) : transport_(transport) {
    transport_.hold_interrupts();
  }
  ~InterruptHold() { transport_.release_interrupts(); }
  InterruptHold(const InterruptHold&) = delete;
  InterruptHold& operator=(const InterruptHold&) = delete;

 private:
  Transport& transport_;
};

}  // namespace flotilla
