#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/reporter.hpp"

namespace flotilla {

// How far a push has come: bytes sent of the total, the rate, the time
// left, and per host. On a terminal, a live block redrawn four times a
// second; with --json, a `push_progress` event every second; at the end,
// one line (and a `push_sent` event) with the total and the rate. It reads
// the counters the transport fills as it sends (RemoteCommand::stdin_sent)
// from its own thread.
class PushProgress {
 public:
  struct Host {
    std::string name;
    std::shared_ptr<std::atomic<std::size_t>> sent;
    std::size_t total = 0;
  };
  // What one host has been sent: the view's figures.
  struct Figures {
    std::string host;
    std::size_t sent = 0;
    std::size_t total = 0;
  };

  PushProgress(Reporter& reporter, std::vector<Host> hosts);
  ~PushProgress();
  PushProgress(const PushProgress&) = delete;
  PushProgress& operator=(const PushProgress&) = delete;

  // Stops the view and reports what was sent, how fast.
  void finish();

  // The live block for these figures `seconds` into the push: a summary
  // line, then the hosts still receiving, at most `rows` of them.
  static std::vector<std::string> render(const std::vector<Figures>& figures, double seconds,
                                         std::size_t rows = 10);

 private:
  using Clock = std::chrono::steady_clock;
  std::vector<Figures> figures() const;
  void tick();
  void stop();

  Reporter& reporter_;
  std::vector<Host> hosts_;
  Clock::time_point started_ = Clock::now();
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread ticker_;
};

}  // namespace flotilla
