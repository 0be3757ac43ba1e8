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

#include "core/ssh/algorithms.hpp"

namespace flotilla {

using ssh::session_error;
using ssh::set_method_preferences;

void SshTransport::Impl::start_connect(Connection& c) {
  const HostAddress& host = *c.address;
  c.connect_started = Clock::now();
  c.deadline = c.connect_started + options.connect_timeout;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(host.port);
  int rc = ::getaddrinfo(host.address.c_str(), port.c_str(), &hints, &found);
  if (rc != 0 || found == nullptr) {
    fail_connection(c, ErrorKind::kUnreachable,
                    fmt::format("cannot resolve {}: {}", host.address, gai_strerror(rc)));
    return;
  }
  c.fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    ::freeaddrinfo(found);
    fail_connection(c, ErrorKind::kUnreachable, fmt::format("socket: {}", std::strerror(errno)));
    return;
  }
  // The kernel notices a vanished peer in ~15 s even when no reply is due.
  int on = 1, idle = 5, interval = 2, count = 5;
  ::setsockopt(c.fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
  ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  rc = ::connect(c.fd, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  if (rc != 0 && errno != EINPROGRESS) {
    fail_connection(
        c, ErrorKind::kUnreachable,
        fmt::format("connect to {}:{}: {}", host.address, host.port, std::strerror(errno)));
    return;
  }
  c.state = ConnState::kConnecting;
}

bool SshTransport::Impl::advance_connecting(Connection& c) {
  pollfd p{c.fd, POLLOUT, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    fail_connection(c, ErrorKind::kUnreachable,
                    fmt::format("connect to {}:{}: {}", c.address->address, c.address->port,
                                std::strerror(err)));
    return true;
  }
  start_session(c);
  return true;
}

void SshTransport::Impl::start_session(Connection& c) {
  c.session = libssh2_session_init();
  libssh2_session_set_blocking(c.session, 0);
  set_method_preferences(c.session);
  c.state = ConnState::kHandshake;
}

bool SshTransport::Impl::advance_handshake(Connection& c) {
  int rc = libssh2_session_handshake(c.session, c.fd);
  if (rc == LIBSSH2_ERROR_EAGAIN) return false;
  if (rc != 0) {
    fail_connection(c, ErrorKind::kUnreachable,
                    fmt::format("SSH handshake failed: {}", session_error(c.session)));
    return true;
  }
  if (auto refused = check_host_key(c)) {
    fail_connection(c, ErrorKind::kUnreachable, *refused);
    return true;
  }
  c.state = ConnState::kAuth;
  return true;
}

// ssh-agent keys first, as OpenSSH does. The agent is a local socket, so
// its own round trips block briefly; the server's answers do not.
// Returns true when authenticated, false to fall through to key files;
// `waiting` is set while libssh2 waits for the server.
bool SshTransport::Impl::try_agent(Connection& c, const HostAddress& host, bool& waiting) {
  waiting = false;
  if (c.agent_done) return false;
  if (c.agent == nullptr) {
    const char* sock = std::getenv("SSH_AUTH_SOCK");
    if (sock == nullptr || *sock == '\0') {
      c.agent_done = true;
      return false;
    }
    c.agent = libssh2_agent_init(c.session);
    if (c.agent == nullptr || libssh2_agent_connect(c.agent) != 0 ||
        libssh2_agent_list_identities(c.agent) != 0) {
      c.agent_done = true;
      return false;
    }
    if (libssh2_agent_get_identity(c.agent, &c.agent_key, nullptr) != 0) {
      c.agent_done = true;
      return false;
    }
  }
  while (c.agent_key != nullptr) {
    int rc = libssh2_agent_userauth(c.agent, host.user.c_str(), c.agent_key);
    if (rc == LIBSSH2_ERROR_EAGAIN) {
      waiting = true;
      return false;
    }
    if (rc == 0) return true;
    ++c.agent_keys_tried;
    libssh2_agent_publickey* next = nullptr;
    if (libssh2_agent_get_identity(c.agent, &next, c.agent_key) != 0) next = nullptr;
    c.agent_key = next;
  }
  c.agent_done = true;
  return false;
}

// Logged in. SSH keepalives (answered by sshd even while a command runs
// silently) let the poll loop tell a frozen host from a quiet one.
void SshTransport::Impl::became_ready(Connection& c) {
  c.state = ConnState::kReady;
  governor.completed(std::chrono::duration_cast<Duration>(Clock::now() - c.connect_started));
  libssh2_keepalive_config(c.session, 1, static_cast<unsigned>(kKeepaliveInterval.count()));
  c.last_heard = Clock::now();
}

bool SshTransport::Impl::advance_auth(Connection& c) {
  const HostAddress& host = *c.address;
  bool waiting = false;
  if (try_agent(c, host, waiting)) {
    became_ready(c);
    return true;
  }
  if (waiting) return false;
  while (c.identity < host.identity_files.size()) {
    const std::string& file = host.identity_files[c.identity];
    int rc = libssh2_userauth_publickey_fromfile_ex(c.session, host.user.c_str(),
                                                    static_cast<unsigned>(host.user.size()),
                                                    nullptr, file.c_str(), "");
    if (rc == LIBSSH2_ERROR_EAGAIN) return false;
    if (rc == 0) {
      became_ready(c);
      return true;
    }
    c.identities_tried.push_back(file);
    ++c.identity;
    if (rc == LIBSSH2_ERROR_SOCKET_SEND || rc == LIBSSH2_ERROR_SOCKET_DISCONNECT ||
        rc == LIBSSH2_ERROR_SOCKET_RECV) {
      break;
    }
  }
  std::string tried = c.identities_tried.empty()
                          ? std::string("no identity file found (~/.ssh/id_ed25519, id_ecdsa)")
                          : fmt::format("tried {}", fmt::join(c.identities_tried, ", "));
  if (c.agent_keys_tried > 0) tried += fmt::format(" and {} ssh-agent key(s)", c.agent_keys_tried);
  fail_connection(c, ErrorKind::kUnreachable,
                  fmt::format("authentication as '{}' failed ({}; ed25519 and ecdsa keys work, "
                              "RSA needs libssh2 1.11)",
                              host.user, tried));
  return true;
}

// One step of TCP connect, SSH handshake and host key check, or
// authentication; true if it made progress.
bool SshTransport::Impl::advance_login(Connection& c) {
  switch (c.state) {
    case ConnState::kConnecting:
      return advance_connecting(c);
    case ConnState::kHandshake:
      return advance_handshake(c);
    case ConnState::kAuth:
      return advance_auth(c);
    default:
      return false;
  }
}

}  // namespace flotilla
