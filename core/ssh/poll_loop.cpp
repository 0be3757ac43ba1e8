#include "core/ssh/ssh_transport_impl.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace flotilla {

// Advances one host as far as it goes without blocking.
void SshTransport::Impl::advance(std::size_t h) {
  HostWork& w = work[h];
  Connection& c = connections[h];
  bool progress = true;
  while (progress) {
    progress = false;
    switch (c.state) {
      case ConnState::kIdle:
        begin_connection(c);
        progress = true;
        break;
      case ConnState::kJumpWait:
        progress = advance_jump_wait(c);
        break;
      case ConnState::kTunnelOpen:
        progress = open_tunnel(c, static_cast<int>(h));
        break;
      case ConnState::kConnecting:
      case ConnState::kHandshake:
      case ConnState::kAuth:
        progress = advance_login(c);
        break;
      case ConnState::kBroken:
        fail_host(h, c.broken);
        return;
      case ConnState::kReady:
        if (!w.running) {
          if (w.queue.empty() || stop_starting()) return;
          if (!may_start_next(h)) return;  // kicked again every loop turn
          auto now = Clock::now();
          w.running.emplace();
          w.running->task = w.queue.front();
          w.queue.pop_front();
          const RemoteCommand& command = (*tasks)[w.running->task].command;
          w.running->deadline = now + command.timeout;
          w.running->exec_replied = now;
          if (paced(w.running->task)) {
            w.running->starting = true;
            w.running->exec_line = kStartMark + command.command;
            w.running->mark_pending = true;
            command_starts.started();
          }
          c.last_heard = now;
        }
        progress = advance_task(h);
        break;
    }
  }
}

bool SshTransport::Impl::may_start_next(std::size_t h) const {
  const HostWork& w = work[h];
  return !w.queue.empty() && (!paced(w.queue.front()) || command_starts.may_start());
}

bool SshTransport::Impl::paced(std::size_t task) const {
  return options.pace_starts && (*tasks)[task].command.paced;
}

// The host's running task and everything queued behind it fail with `error`.
void SshTransport::Impl::fail_host(std::size_t h, const Error& error) {
  HostWork& w = work[h];
  if (w.running) finish_task(h, tl::unexpected(error));
  for (std::size_t t : w.queue) results[t] = tl::unexpected(error);
  w.queue.clear();
}

bool SshTransport::Impl::host_done(std::size_t h) const {
  const HostWork& w = work[h];
  return !w.running &&
         (w.queue.empty() || connections[h].state == ConnState::kBroken || stop_starting());
}

void SshTransport::Impl::check_deadlines(std::size_t h, Clock::time_point now) {
  Connection& c = connections[h];
  bool connecting = c.state == ConnState::kJumpWait || c.state == ConnState::kTunnelOpen ||
                    c.state == ConnState::kConnecting || c.state == ConnState::kHandshake ||
                    c.state == ConnState::kAuth;
  if (connecting && now >= c.deadline) {
    governor.timed_out();
    break_connection(
        h, ErrorKind::kUnreachable,
        fmt::format("timed out connecting after {}", format_duration(options.connect_timeout)));
    fail_host(h, c.broken);
    return;
  }
  HostWork& w = work[h];
  if (w.running && w.running->starting &&
      now - w.running->exec_replied >= command_starts.window()) {
    w.running->starting = false;
    command_starts.outlasted();
  }
  if (c.state == ConnState::kReady && w.running && now >= w.running->deadline) {
    Duration limit = (*tasks)[w.running->task].command.timeout;
    Error timeout{ErrorKind::kTimeout, fmt::format("timed out after {}", format_duration(limit))};
    // The channel's state is unknown now; drop the connection, a later
    // run() reconnects.
    break_connection(h, ErrorKind::kTimeout, timeout.message);
    finish_task(h, tl::unexpected(timeout));
    Error skipped{ErrorKind::kFailed, "not run: an earlier command on this host timed out"};
    for (std::size_t t : w.queue) results[t] = tl::unexpected(skipped);
    w.queue.clear();
    c.state = ConnState::kIdle;  // reconnect on the next run()
  }
}

void SshTransport::Impl::keep_alive(std::size_t h, Clock::time_point now) {
  Connection& c = connections[h];
  if (c.state != ConnState::kReady || c.session == nullptr) return;
  int seconds_to_next = 0;
  libssh2_keepalive_send(c.session, &seconds_to_next);  // sends only when one is due
  if (!work[h].running || now - c.last_heard < kSilenceLimit) return;
  Error lost{ErrorKind::kUnreachable,
             fmt::format("no answer for {} s (not even to SSH keepalives): the host stopped "
                         "responding",
                         kSilenceLimit.count())};
  break_connection(h, lost.kind, lost.message);
  fail_host(h, lost);
  c.state = ConnState::kIdle;  // reconnect on the next run()
}

void SshTransport::Impl::abandon_in_flight(const std::vector<std::size_t>& active) {
  Error abandoned_error{ErrorKind::kAbandoned,
                        "abandoned by a second Ctrl-C: the host may still be finishing its step"};
  for (std::size_t h : active) {
    if (!work[h].running) continue;
    break_connection(h, abandoned_error.kind, abandoned_error.message);
    fail_host(h, abandoned_error);
    connections[h].state = ConnState::kIdle;
  }
}

short SshTransport::Impl::poll_events(std::size_t h) const {
  const Connection& c = connections[h];
  if (c.state == ConnState::kConnecting) return POLLOUT;
  int dirs = c.session != nullptr ? libssh2_session_block_directions(c.session) : 0;
  short events = 0;
  if (dirs & LIBSSH2_SESSION_BLOCK_INBOUND) events |= POLLIN;
  if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND) events |= POLLOUT;
  return events != 0 ? events : POLLIN;
}

std::deque<std::size_t> SshTransport::Impl::begin_run(const std::vector<HostTask>& all,
                                                      const OutputFn& output) {
  tasks = &all;
  on_output = &output;
  results.assign(all.size(), std::nullopt);
  work.assign(hosts.size(), HostWork{});
  command_starts.begin_run();
  std::deque<std::size_t> pending;
  for (std::size_t t = 0; t < all.size(); ++t) {
    std::size_t h = all[t].host;
    if (h >= hosts.size()) {
      results[t] = tl::unexpected(Error{ErrorKind::kBadInput, "no such host"});
      continue;
    }
    if (work[h].queue.empty()) pending.push_back(h);
    work[h].queue.push_back(t);
  }
  for (auto& c : connections) {
    if (c.state == ConnState::kBroken) c.state = ConnState::kIdle;  // retry in a new run()
  }
  for (auto& j : jumps) {
    if (j.conn.state == ConnState::kBroken) j.conn.state = ConnState::kIdle;
  }
  return pending;
}

// A host with a live connection starts at once; one that needs a new
// connection waits for a handshake slot (`governor`) and, for a paced
// command, until it would not wait long for a start slot (`command_starts`).
void SshTransport::Impl::admit_hosts(std::vector<std::size_t>& active,
                                     std::deque<std::size_t>& pending) {
  if (stop_starting() || active.size() >= options.forks || pending.empty()) return;
  std::size_t handshaking = std::count_if(active.begin(), active.end(), [&](std::size_t h) {
    return connections[h].state != ConnState::kReady;
  });
  std::size_t waiting = std::count_if(active.begin(), active.end(), [&](std::size_t h) {
    return connections[h].state == ConnState::kReady && !work[h].running &&
           !work[h].queue.empty() && !may_start_next(h);
  });
  for (auto it = pending.begin(); it != pending.end() && active.size() < options.forks;) {
    bool connected = connections[*it].state == ConnState::kReady;
    if (!connected &&
        (handshaking >= governor.limit() ||
         (paced(work[*it].queue.front()) && !command_starts.may_connect(handshaking + waiting)))) {
      ++it;
      continue;
    }
    if (!connected) ++handshaking;
    active.push_back(*it);
    work[*it].kick = true;
    it = pending.erase(it);
  }
}

// Again until nothing moves, as libssh2 may hold data it already read.
void SshTransport::Impl::advance_active(const std::vector<std::size_t>& active) {
  for (int pass = 0; pass < 64; ++pass) {
    bool moved = advance_jumps();
    for (int i = 0; i < 64 && pump_all(); ++i) moved = true;
    for (std::size_t h : active) {
      if (!work[h].kick) continue;
      work[h].kick = false;
      advance(h);
      if (connections[h].tunnel != nullptr) moved = true;
    }
    if (!moved || jumps.empty()) break;
  }
}

Clock::time_point SshTransport::Impl::poll_set(const std::vector<std::size_t>& active,
                                               std::vector<pollfd>& fds,
                                               std::vector<std::size_t>& fd_hosts,
                                               Clock::time_point now) {
  auto next = now + std::chrono::milliseconds(500);
  fds.clear();
  fd_hosts.clear();
  for (std::size_t h : active) {
    const Connection& c = connections[h];
    if (c.fd < 0) {
      work[h].kick = true;
      continue;
    }
    const auto& running = work[h].running;
    if (c.state == ConnState::kReady && !running) {
      // Waiting for a start slot: it reads nothing until it starts, so its
      // socket is not polled (what sshd sends after login would wake
      // poll() at once, every time). One freed while it waited: no
      // sleeping in poll().
      if (!stop_starting() && may_start_next(h)) next = now;
      continue;
    }
    fds.push_back(pollfd{c.fd, poll_events(h), 0});
    fd_hosts.push_back(h);
    next = std::min(next, c.state == ConnState::kReady && running ? running->deadline : c.deadline);
    if (running && running->starting) {
      next = std::min(next, running->exec_replied + command_starts.window());
    }
  }
  for (auto& j : jumps) {
    if (j.conn.fd < 0) continue;
    short events = j.conn.state == ConnState::kConnecting ? POLLOUT : POLLIN;
    if (j.conn.session != nullptr && session_wants_to_send(j.conn.session)) events |= POLLOUT;
    fds.push_back(pollfd{j.conn.fd, events, 0});
    if (j.conn.state != ConnState::kReady) next = std::min(next, j.conn.deadline);
  }
  for (const auto& j : jumps) {
    if (j.conn.tunnel_fd < 0) continue;
    fds.push_back(pollfd{j.conn.tunnel_fd,
                         static_cast<short>(j.conn.to_local.empty() ? POLLIN : POLLIN | POLLOUT),
                         0});
  }
  for (std::size_t h : active) {
    const Connection& c = connections[h];
    if (c.tunnel_fd < 0) continue;
    fds.push_back(
        pollfd{c.tunnel_fd, static_cast<short>(c.to_local.empty() ? POLLIN : POLLIN | POLLOUT), 0});
  }
  return next;
}

void SshTransport::Impl::after_poll(const std::vector<std::size_t>& active, Clock::time_point now) {
  for (auto& j : jumps) {
    bool logging_in = j.conn.state == ConnState::kJumpWait ||
                      j.conn.state == ConnState::kTunnelOpen ||
                      j.conn.state == ConnState::kConnecting ||
                      j.conn.state == ConnState::kHandshake || j.conn.state == ConnState::kAuth;
    if (logging_in && now >= j.conn.deadline) {
      fail_connection(
          j.conn, ErrorKind::kUnreachable,
          fmt::format("timed out connecting after {}", format_duration(options.connect_timeout)));
    }
  }
  for (std::size_t h : active) {
    if (connections[h].state == ConnState::kJumpWait) work[h].kick = true;
  }
  for (std::size_t h : active) {
    keep_alive(h, now);
    check_deadlines(h, now);
    if (connections[h].state == ConnState::kReady && work[h].running == std::nullopt) {
      work[h].kick = true;  // start its next task
    }
  }
}

std::vector<Result<CommandResult>> SshTransport::Impl::end_run() {
  std::vector<Result<CommandResult>> out;
  out.reserve(results.size());
  for (auto& r : results) {
    if (r) {
      out.push_back(std::move(*r));
    } else {
      out.push_back(tl::unexpected(Error{ErrorKind::kInterrupted, "not started: interrupted"}));
    }
  }
  tasks = nullptr;
  on_output = nullptr;
  return out;
}

std::vector<Result<CommandResult>> SshTransport::Impl::run(const std::vector<HostTask>& all,
                                                           const OutputFn& output) {
  std::deque<std::size_t> pending = begin_run(all, output);
  std::vector<std::size_t> active;
  std::vector<pollfd> fds;
  std::vector<std::size_t> fd_hosts;
  while (true) {
    admit_hosts(active, pending);
    advance_active(active);
    std::erase_if(active, [&](std::size_t h) { return host_done(h); });
    if (active.empty() && (pending.empty() || stop_starting())) break;
    if (active.empty()) continue;
    auto now = Clock::now();
    auto next = poll_set(active, fds, fd_hosts, now);
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
    int ready =
        ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(wait, 0, 500)));
    if (ready < 0 && errno != EINTR) break;
    now = Clock::now();
    for (std::size_t i = 0; i < fd_hosts.size(); ++i) {
      if (fds[i].revents != 0) work[fd_hosts[i]].kick = true;
      if (fds[i].revents & POLLIN) connections[fd_hosts[i]].last_heard = now;
    }
    if (stop_waiting()) {
      abandon_in_flight(active);
      break;
    }
    after_poll(active, now);
  }
  return end_run();
}

}  // namespace flotilla
