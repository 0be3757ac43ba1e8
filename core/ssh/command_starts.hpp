#pragma once

#include <cstddef>

#include "core/duration.hpp"
#include "core/ssh/start_governor.hpp"

namespace flotilla {

// How many commands may be starting at once. A command's start runs from
// the reply to its exec request until its login shell has started (the
// transport's start mark, or failing that the first output or the exit);
// the network round trip is not in it.
// Shells starting at once can slow each other down: a controller and hosts
// sharing cores, or a profile that runs heavy tools under a shared lock
// (this lab's root ~/.bashrc runs `pyenv init` in one /root for every
// host), until 50 at once finish later than 10 at once would. So commands
// fanned out across the fleet start on as many hosts at once as a
// StartGovernor allows, learned from how long their starts take.
//
// A command still silent after window() is probably a long one (a follow,
// a wait on a service): it stops counting. Once more of a run's commands
// have outlasted the window than have answered, the rest of the run starts
// without waiting, so long commands are held back once per run, by about
// one window. The window is long (32 times the fastest start), because
// starts queued on a lock are sometimes very slow, and each one taken for a
// long command too soon lets one more start run beside the rest. Commands
// the operator batched (activations) and pushes, bound by their bytes, are
// not paced at all (RemoteCommand::paced).
class CommandStarts {
 public:
  explicit CommandStarts(std::size_t ceiling);

  // A new transport run: the limit stands (it is learned across runs), the
  // long-command lift does not.
  void begin_run() {
    lifted_ = false;
    answered_ = outlasted_ = 0;
  }
  bool may_start() const { return lifted_ || starting_ < governor_.limit(); }
  // Whether a host may begin to connect for a paced command while `ahead`
  // hosts are connecting or waiting for a start slot. Handshakes cost the
  // cores that starts cost, and a connection made long before its command
  // may start was made too early.
  bool may_connect(std::size_t ahead) const { return lifted_ || ahead < governor_.limit(); }
  void started() { ++starting_; }
  // The shell's start mark, the first output, or the exit: `took` since the
  // exec reply.
  void answered(Duration took);
  // Still silent after window(): a long command, or a start slower than
  // most.
  void outlasted();
  // Failed, timed out or was cut off before it answered: no measure.
  void dropped();
  Duration window() const;

  std::size_t limit() const { return governor_.limit(); }
  std::size_t starting() const { return starting_; }

 private:
  StartGovernor governor_;
  std::size_t starting_ = 0;
  std::size_t answered_ = 0;   // this run's
  std::size_t outlasted_ = 0;  // this run's
  bool lifted_ = false;
};

}  // namespace flotilla
