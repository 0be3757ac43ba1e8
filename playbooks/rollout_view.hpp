#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/reporter.hpp"
#include "playbooks/rollout_observer.hpp"

namespace flotilla {

// What each host of the running batch is doing, read from the phase lines
// its activation prints (kPhaseMarker). On a terminal: a live block, one line
// per host with its phase and elapsed time, redrawn in place. With --json:
// a `host_phase` event whenever a host enters a new phase. A host waiting
// for its players (kPlayersMarker, kNoticeMarker) shows their count and the
// time left, with `host_players` and `host_notice` events. Thread-safe: the
// transport feeds output from its own thread. As a rollout's observer it
// shows each batch, and the batch being rolled back.
class RolloutView final : public RolloutObserver {
 public:
  explicit RolloutView(Reporter& reporter);
  ~RolloutView();
  RolloutView(const RolloutView&) = delete;
  RolloutView& operator=(const RolloutView&) = delete;

  void start_batch(std::string title, const std::vector<std::string>& hosts);
  // A chunk of a host's stdout; phase lines update the view.
  void output(const std::string& host, std::string_view chunk);
  static constexpr std::size_t kMaxLine = 4096;  // longer lines are dropped, not held
  // Bytes of `host`'s unfinished line held (bounded by kMaxLine).
  std::size_t buffered(const std::string& host) const;
  void finish_host(const std::string& host, bool ok);
  // Removes the live block (the caller prints the batch's outcome).
  void end_batch();

  void batch_started(std::size_t index, std::size_t of, const Batch& batch) override;
  void host_output(const std::string& host, std::string_view chunk) override {
    output(host, chunk);
  }
  void host_done(const std::string& host, bool ok, const std::string& /*detail*/,
                 const Result<CommandResult>* /*output*/) override {
    finish_host(host, ok);
  }
  void batch_done(std::size_t /*index*/, std::size_t /*failed*/) override { end_batch(); }
  void rollback_started(std::size_t batch, const std::vector<std::string>& hosts) override;
  void host_rolled_back(const std::string& host, bool ok,
                        const Result<CommandResult>& /*output*/) override {
    finish_host(host, ok);
  }
  void rollback_done() override { end_batch(); }

 private:
  using Clock = std::chrono::steady_clock;
  struct Row {
    std::string phase = "waiting";
    std::string players;     // "3 players, 4m12s left" while waiting for them
    std::string last_count;  // the count last reported in an event
    std::string partial;     // an unfinished line of output (at most kMaxLine)
    bool skipping = false;   // dropping a line longer than kMaxLine, until its newline
    Clock::time_point finished{};
    bool done = false;
    bool ok = false;
  };
  void set_phase(const std::string& host, Row& row, const std::string& phase);    // under mutex_
  void read_players(const std::string& host, Row& row, std::string_view fields);  // under mutex_
  void read_notice(const std::string& host, std::string_view seconds_left);       // under mutex_
  std::vector<std::string> render();                                              // under mutex_
  void tick();

  Reporter& reporter_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool active_ = false;
  bool stopping_ = false;
  std::string title_;
  std::vector<std::string> order_;
  std::map<std::string, Row> rows_;
  Clock::time_point started_{};
  std::thread ticker_;
};

}  // namespace flotilla
