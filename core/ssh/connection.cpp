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

using ssh::init_libssh2_once;
using ssh::read_known_hosts;

SshTransport::Impl::Impl(std::vector<HostAddress> h, SshOptions o)
    : hosts(std::move(h)),
      options(std::move(o)),
      governor(options.forks, {}),
      command_starts(options.forks) {
  init_libssh2_once();
  connections.resize(hosts.size());
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    connections[i].address = &hosts[i];
    if (hosts[i].jump) connections[i].jump = add_jump(*hosts[i].jump);
  }
  // Only now: adding bastions moved them (Connection::address points into it).
  for (auto& j : jumps) j.conn.address = &j.address;
  known_hosts_session = libssh2_session_init();
  known = libssh2_knownhost_init(known_hosts_session);
  for (const auto& file : options.known_hosts_files) read_known_hosts(known, file);
}

int SshTransport::Impl::add_jump(const HostAddress& address) {
  int before = address.jump ? add_jump(*address.jump) : -1;
  auto same = [&](const Jump& x) {
    return x.address.address == address.address && x.address.port == address.port &&
           x.address.user == address.user && x.conn.jump == before;
  };
  auto it = std::find_if(jumps.begin(), jumps.end(), same);
  if (it != jumps.end()) return static_cast<int>(it - jumps.begin());
  jumps.push_back(Jump{address, {}, -1, JumpOp::kNone, {}});
  jumps.back().conn.jump = before;
  return static_cast<int>(jumps.size() - 1);
}

SshTransport::Impl::~Impl() {
  for (auto& c : connections) close_connection(c, true);
  // A bastion behind another comes after it: close from the last, so each
  // hands its tunnel to a bastion not yet closed.
  for (auto it = jumps.rbegin(); it != jumps.rend(); ++it) {
    Jump& j = *it;
    if (j.conn.session != nullptr && j.conn.jump >= 0) {
      // Its session runs through a tunnel nobody pumps now: nothing it
      // sends can be answered, so let every call fail at once.
      ::shutdown(j.conn.fd, SHUT_RDWR);
      libssh2_session_set_blocking(j.conn.session, 1);
      for (auto* channel : j.dead_tunnels) libssh2_channel_free(channel);
    } else if (j.conn.session != nullptr) {
      timeval tv{0, 300'000};
      ::setsockopt(j.conn.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      ::setsockopt(j.conn.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      libssh2_session_set_blocking(j.conn.session, 1);
      for (auto* channel : j.dead_tunnels) libssh2_channel_free(channel);
    }
    j.dead_tunnels.clear();
    close_connection(j.conn, true);
  }
  if (known != nullptr) libssh2_knownhost_free(known);
  if (known_hosts_session != nullptr) libssh2_session_free(known_hosts_session);
}

void SshTransport::Impl::close_connection(Connection& c, bool graceful) {
  if (c.agent != nullptr) {
    libssh2_agent_disconnect(c.agent);
    libssh2_agent_free(c.agent);
    c.agent = nullptr;
  }
  if (c.session != nullptr) {
    if (graceful && c.state == ConnState::kReady) {
      // A short blocking goodbye so sshd logs a clean disconnect.
      timeval tv{0, 300'000};
      ::setsockopt(c.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      libssh2_session_set_blocking(c.session, 1);
      libssh2_session_disconnect(c.session, "flotilla done");
    } else if (c.fd >= 0) {
      // Nothing more may be sent: freeing must not wait on a dead peer.
      ::shutdown(c.fd, SHUT_RDWR);
    }
    libssh2_session_free(c.session);
    c.session = nullptr;
  }
  if (c.fd >= 0) ::close(c.fd);
  c.fd = -1;
  if (c.tunnel_fd >= 0) ::close(c.tunnel_fd);
  c.tunnel_fd = -1;
  if (c.tunnel != nullptr) jumps[static_cast<std::size_t>(c.jump)].dead_tunnels.push_back(c.tunnel);
  c.tunnel = nullptr;
  c.to_channel.clear();
  c.to_local.clear();
}

void SshTransport::Impl::fail_connection(Connection& c, ErrorKind kind, std::string message) {
  close_connection(c, false);
  c.state = ConnState::kBroken;
  c.broken = Error{kind, std::move(message)};
}

void SshTransport::Impl::break_connection(std::size_t h, ErrorKind kind, std::string message) {
  Connection& c = connections[h];
  if (work[h].running && work[h].running->channel != nullptr) {
    // The session goes away with its channels; freeing one now could block.
    work[h].running->channel = nullptr;
  }
  fail_connection(c, kind, std::move(message));
}

}  // namespace flotilla
