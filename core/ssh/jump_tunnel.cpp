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

#include "core/ssh/libssh2_support.hpp"

#include "core/ssh/known_hosts_file.hpp"

namespace flotilla {

using ssh::known_hosts_name;
using ssh::session_error;

std::string SshTransport::Impl::bastion_name(const Jump& j) const {
  return fmt::format("{}@{}", j.address.user, known_hosts_name(j.address));
}

// Logs every bastion in use into its session (through the bastion before
// it, if any); true if any made progress.
bool SshTransport::Impl::advance_jumps() {
  bool any = false;
  for (std::size_t i = 0; i < jumps.size(); ++i) {
    Connection& c = jumps[i].conn;
    const int owner = static_cast<int>(hosts.size() + i);
    for (bool progress = true; progress;) {
      switch (c.state) {
        case ConnState::kJumpWait:
          progress = advance_jump_wait(c);
          break;
        case ConnState::kTunnelOpen:
          progress = open_tunnel(c, owner);
          break;
        default:
          progress = advance_login(c);
          break;
      }
      any = any || progress;
    }
  }
  return any;
}

void SshTransport::Impl::begin_connection(Connection& c) {
  if (c.jump >= 0) {
    c.connect_started = Clock::now();
    c.deadline = c.connect_started + options.connect_timeout;
    c.state = ConnState::kJumpWait;
  } else {
    start_connect(c);
  }
}

bool SshTransport::Impl::advance_jump_wait(Connection& c) {
  Jump& j = jumps[static_cast<std::size_t>(c.jump)];
  if (j.conn.state == ConnState::kIdle) {
    begin_connection(j.conn);
    return true;
  }
  if (j.conn.state == ConnState::kBroken) {
    fail_connection(c, j.conn.broken.kind,
                    fmt::format("via bastion {}: {}", bastion_name(j), j.conn.broken.message));
    return true;
  }
  if (j.conn.state != ConnState::kReady) return false;
  c.state = ConnState::kTunnelOpen;
  return true;
}

bool SshTransport::Impl::session_wants_to_send(LIBSSH2_SESSION* session) const {
  return (libssh2_session_block_directions(session) & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0;
}

// Opens the direct-tcpip channel to the connection's host through its
// bastion and hands libssh2 one end of a socketpair as the host's socket.
bool SshTransport::Impl::open_tunnel(Connection& c, int owner) {
  Jump& j = jumps[static_cast<std::size_t>(c.jump)];
  if (j.busy_host >= 0 && j.busy_host != owner) return false;
  LIBSSH2_CHANNEL* channel = libssh2_channel_direct_tcpip_ex(
      j.conn.session, c.address->address.c_str(), c.address->port, "127.0.0.1", 22);
  if (channel == nullptr) {
    if (libssh2_session_last_errno(j.conn.session) == LIBSSH2_ERROR_EAGAIN) {
      j.busy_host = owner;  // one channel open at a time per session
      j.busy_op = JumpOp::kOpen;
      return false;
    }
    j.busy_host = -1;
    fail_connection(c, ErrorKind::kUnreachable,
                    fmt::format("bastion {} could not reach {}: {}", bastion_name(j),
                                known_hosts_name(*c.address), session_error(j.conn.session)));
    return true;
  }
  j.busy_host = -1;
  j.busy_op = JumpOp::kNone;
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) != 0) {
    j.dead_tunnels.push_back(channel);
    fail_connection(c, ErrorKind::kUnreachable,
                    fmt::format("socketpair: {}", std::strerror(errno)));
    return true;
  }
  c.tunnel = channel;
  c.fd = pair[0];
  c.tunnel_fd = pair[1];
  start_session(c);
  return true;
}

// Moves bytes between one connection's socketpair and its bastion channel.
// Returns true if any byte moved.
bool SshTransport::Impl::pump(Connection& c, int owner) {
  if (c.tunnel == nullptr) return false;
  Jump& j = jumps[static_cast<std::size_t>(c.jump)];
  const int me = owner;
  if (j.busy_host >= 0 && (j.busy_host != me || j.busy_op == JumpOp::kOpen)) return false;
  bool progress = false;
  char buffer[32768];
  auto broken = [&](const char* what) {
    fail_connection(c, ErrorKind::kUnreachable,
                    fmt::format("{} through bastion {}: {}", what, bastion_name(j),
                                session_error(j.conn.session)));
    if (j.busy_host == me) j.busy_host = -1;
    return true;
  };
  // Host session -> bastion channel.
  while (c.to_channel.size() < (1u << 20)) {
    ssize_t n = ::recv(c.tunnel_fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n <= 0) break;
    c.to_channel.append(buffer, static_cast<std::size_t>(n));
    progress = true;
  }
  while (!c.to_channel.empty()) {
    ssize_t n = libssh2_channel_write(c.tunnel, c.to_channel.data(), c.to_channel.size());
    if (n == LIBSSH2_ERROR_EAGAIN) {
      if (session_wants_to_send(j.conn.session)) {
        j.busy_host = me;
        j.busy_op = JumpOp::kWrite;
        return progress;
      }
      break;  // the channel window is full: read meanwhile
    }
    if (n < 0) return broken("sending");
    c.to_channel.erase(0, static_cast<std::size_t>(n));
    progress = true;
  }
  if (j.busy_op == JumpOp::kWrite && j.busy_host == me) j.busy_host = -1;
  // Bastion channel -> host session.
  while (c.to_local.size() < (1u << 20)) {
    ssize_t n = libssh2_channel_read(c.tunnel, buffer, sizeof buffer);
    if (n == LIBSSH2_ERROR_EAGAIN) {
      if (session_wants_to_send(j.conn.session)) {  // a window adjust is half sent
        j.busy_host = me;
        j.busy_op = JumpOp::kRead;
        return progress;
      }
      break;
    }
    if (n < 0) return broken("receiving");
    if (n == 0) break;
    c.to_local.append(buffer, static_cast<std::size_t>(n));
    progress = true;
  }
  if (j.busy_op == JumpOp::kRead && j.busy_host == me) j.busy_host = -1;
  while (!c.to_local.empty()) {
    ssize_t n =
        ::send(c.tunnel_fd, c.to_local.data(), c.to_local.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n <= 0) break;
    c.to_local.erase(0, static_cast<std::size_t>(n));
    progress = true;
  }
  if (c.to_local.empty() && libssh2_channel_eof(c.tunnel) == 1) {
    ::shutdown(c.tunnel_fd, SHUT_WR);  // the host closed: the session sees EOF
  }
  return progress;
}

bool SshTransport::Impl::pump_all() {
  bool any = false;
  for (std::size_t i = 0; i < jumps.size(); ++i) {
    if (pump(jumps[i].conn, static_cast<int>(hosts.size() + i))) any = true;
  }
  for (std::size_t h = 0; h < connections.size(); ++h) {
    if (pump(connections[h], static_cast<int>(h))) {
      any = true;
      if (h < work.size()) work[h].kick = true;
    }
  }
  return any;
}

}  // namespace flotilla
