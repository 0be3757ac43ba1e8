#include "cli/log_follower.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "cli/fleet_connection.hpp"
#include "core/script_command.hpp"

namespace flotilla {
namespace {

using namespace std::chrono_literals;

// The connections in use, so Ctrl-C (seen by the main thread) can stop
// every host's wait at once.
class LiveConnections {
 public:
  void add(Transport* t) {
    std::lock_guard lock(mutex_);
    live_.push_back(t);
    if (stopped_) t->abandon();
  }
  void remove(Transport* t) {
    std::lock_guard lock(mutex_);
    live_.erase(std::remove(live_.begin(), live_.end(), t), live_.end());
  }
  void stop_all() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    for (Transport* t : live_) t->abandon();
  }
  bool stopped() const {
    std::lock_guard lock(mutex_);
    return stopped_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Transport*> live_;
  bool stopped_ = false;
};

// One host's follow, reconnecting until stopped.
class HostFollower {
 public:
  HostFollower(const GlobalOptions& options, const Targets& targets, std::size_t host,
               std::string name, std::size_t width, const RemoteCommand& command,
               Reporter& reporter, LiveConnections& live)
      : options_(options),
        targets_(targets),
        host_(host),
        name_(std::move(name)),
        width_(width),
        command_(command),
        reporter_(reporter),
        live_(live) {}

  void run() {
    auto backoff = 1s;
    while (!live_.stopped()) {
      std::string reason = follow_once();
      if (live_.stopped()) break;
      if (following_) backoff = 1s;  // it had been following: start the backoff again
      following_ = false;
      if (!lost_) {
        lost_ = true;
        reporter_.event("host_lost", {{"host", name_}, {"reason", reason}});
        reporter_.warning(fmt::format("{}: lost ({}); retrying", name_, reason));
      }
      for (auto waited = 0ms; waited < backoff && !live_.stopped(); waited += 100ms) {
        std::this_thread::sleep_for(100ms);
      }
      backoff = std::min<std::chrono::seconds>(backoff * 2, 10s);
    }
  }

 private:
  // Follows until the connection or the command ends; why it ended.
  std::string follow_once() {
    auto connection = FleetConnection::open(options_, targets_, {host_}, reporter_);
    if (!connection) return connection.error().message;
    Transport& transport = (*connection)->transport();
    live_.add(&transport);
    std::string err;
    auto results = transport.run(
        {{0, command_}}, [this, &err](std::size_t, bool is_stderr, std::string_view chunk) {
          if (is_stderr) {
            err.append(chunk.substr(0, 4096 - std::min<std::size_t>(err.size(), 4096)));
            return;
          }
          partial_.append(chunk);
          for (std::size_t end; (end = partial_.find('\n')) != std::string::npos;) {
            line(partial_.substr(0, end));
            partial_.erase(0, end + 1);
          }
          if (partial_.size() > (1u << 20)) partial_.clear();  // no newline in a megabyte
        });
    live_.remove(&transport);
    partial_.clear();
    if (!results.front()) return results.front().error().message;
    const CommandResult& r = *results.front();
    std::string why = r.err.empty() ? err : r.err;
    while (!why.empty() && why.back() == '\n') why.pop_back();
    if (!why.empty()) return why;
    return r.exit_signal.empty() ? fmt::format("the follow ended (exit {})", r.exit_status)
                                 : "the follow was killed by SIG" + r.exit_signal;
  }

  void line(const std::string& text) {
    if (text == "#flotilla-follow") {
      following_ = true;
      if (!started_) {
        started_ = true;
        reporter_.event("following", {{"host", name_}});
      }
      if (lost_) {
        lost_ = false;
        reporter_.event("host_back", {{"host", name_}});
        reporter_.warning(fmt::format("{}: back, following again", name_));
      }
      return;
    }
    if (text == "#flotilla-alive") return;
    std::size_t tab = text.find('\t');
    std::string file = tab == std::string::npos ? "" : text.substr(0, tab);
    std::string body = tab == std::string::npos ? text : text.substr(tab + 1);
    if (reporter_.json()) {
      reporter_.event("line", {{"host", name_}, {"file", file}, {"text", body}});
    } else {
      reporter_.text(fmt::format("{:<{}} | {}", name_, width_, body));
    }
  }

  const GlobalOptions& options_;
  const Targets& targets_;
  std::size_t host_;
  std::string name_;
  std::size_t width_;
  const RemoteCommand& command_;
  Reporter& reporter_;
  LiveConnections& live_;
  std::string partial_;
  bool following_ = false;
  bool started_ = false;  // followed once: later starts are "host_back"
  bool lost_ = false;
};

}  // namespace

Result<Outcome> follow_logs(const GlobalOptions& options, const Targets& targets,
                            const RemoteCommand& command, Reporter& reporter) {
  // Addresses that cannot be resolved are bad input, said once, not retried.
  if (auto addresses = resolve_addresses(options, targets, targets.hosts, reporter); !addresses) {
    return tl::unexpected(addresses.error());
  }
  const auto& inventory = targets.inventory.inventory;
  std::size_t width = 0;
  for (std::size_t h : targets.hosts) width = std::max(width, inventory.hosts()[h].name.size());
  FleetConnection::end_quietly_on_interrupt();
  LiveConnections live;
  std::vector<std::unique_ptr<HostFollower>> followers;
  std::vector<std::thread> threads;
  for (std::size_t h : targets.hosts) {
    followers.push_back(std::make_unique<HostFollower>(
        options, targets, h, inventory.hosts()[h].name, width, command, reporter, live));
    threads.emplace_back([f = followers.back().get()] { f->run(); });
  }
  // The first Ctrl-C ends the follow: every host's wait is stopped.
  while (!FleetConnection::interrupted()) std::this_thread::sleep_for(100ms);
  live.stop_all();
  for (auto& t : threads) t.join();
  return Outcome();
}

}  // namespace flotilla
