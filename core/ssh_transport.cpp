#include "core/ssh_transport.hpp"

#include "core/known_hosts.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <libssh2.h>

namespace flotilla {
namespace {

using Clock = std::chrono::steady_clock;

// Strong algorithms only; names libssh2 does not know are dropped by it, so
// 1.11's additions (GCM, ETM MACs, rsa-sha2) are used when present.
constexpr const char* kKex =
    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
    "ecdh-sha2-nistp521,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
    "diffie-hellman-group14-sha256";
constexpr const char* kHostKeys =
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521"
#if LIBSSH2_VERSION_NUM >= 0x010b00
    ",rsa-sha2-512,rsa-sha2-256"
#endif
    ;
constexpr const char* kCiphers =
    "aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr";
constexpr const char* kMacs =
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512";

void init_libssh2_once() {
  static std::once_flag once;
  std::call_once(once, [] { libssh2_init(0); });
}

std::string session_error(LIBSSH2_SESSION* session) {
  char* message = nullptr;
  libssh2_session_last_error(session, &message, nullptr, 0);
  return message != nullptr ? message : "unknown error";
}

int known_host_key_type(int hostkey_type) {
  switch (hostkey_type) {
    case LIBSSH2_HOSTKEY_TYPE_RSA:
      return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
      return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
      return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
      return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
    case LIBSSH2_HOSTKEY_TYPE_ED25519:
      return LIBSSH2_KNOWNHOST_KEY_ED25519;
    default:
      return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
  }
}

// OpenSSH's fingerprint format: SHA256:<unpadded base64>.
std::string fingerprint(LIBSSH2_SESSION* session) {
  const char* hash = libssh2_hostkey_hash(session, LIBSSH2_HOSTKEY_HASH_SHA256);
  if (hash == nullptr) return "(unknown)";
  static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto* bytes = reinterpret_cast<const unsigned char*>(hash);
  std::string out = "SHA256:";
  for (int i = 0; i < 32; i += 3) {
    unsigned v = static_cast<unsigned>(bytes[i]) << 16;
    if (i + 1 < 32) v |= static_cast<unsigned>(bytes[i + 1]) << 8;
    if (i + 2 < 32) v |= bytes[i + 2];
    out += b64[(v >> 18) & 63];
    out += b64[(v >> 12) & 63];
    if (i + 1 < 32) out += b64[(v >> 6) & 63];
    if (i + 2 < 32) out += b64[v & 63];
  }
  return out;
}

// Keeps the names of `wanted` this libssh2 supports, in our order. libssh2
// 1.10 would drop unknown names itself, but does so with an overlapping
// memcpy (ASan reports it), so it only ever sees names it knows.
std::string supported_subset(LIBSSH2_SESSION* session, int method, const char* wanted) {
  const char** algs = nullptr;
  int n = libssh2_session_supported_algs(session, method, &algs);
  std::vector<std::string> known;
  for (int i = 0; i < n; ++i) known.emplace_back(algs[i]);
  if (algs != nullptr) libssh2_free(session, static_cast<void*>(algs));
  std::string out;
  std::string_view list(wanted);
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string name(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (std::find(known.begin(), known.end(), name) == known.end()) continue;
    if (!out.empty()) out += ',';
    out += name;
  }
  return out;
}

void set_method_preferences(LIBSSH2_SESSION* session) {
  const std::pair<int, const char*> prefs[] = {
      {LIBSSH2_METHOD_KEX, kKex},          {LIBSSH2_METHOD_HOSTKEY, kHostKeys},
      {LIBSSH2_METHOD_CRYPT_CS, kCiphers}, {LIBSSH2_METHOD_CRYPT_SC, kCiphers},
      {LIBSSH2_METHOD_MAC_CS, kMacs},      {LIBSSH2_METHOD_MAC_SC, kMacs}};
  for (auto [method, wanted] : prefs) {
    std::string list = supported_subset(session, method, wanted);
    if (!list.empty()) libssh2_session_method_pref(session, method, list.c_str());
  }
}

// Line by line, so one entry libssh2 cannot parse (a certificate authority,
// a security-key type) does not drop the rest of the file.
void read_known_hosts(LIBSSH2_KNOWNHOSTS* known, const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    libssh2_knownhost_readline(known, line.c_str(), line.size(), LIBSSH2_KNOWNHOST_FILE_OPENSSH);
  }
}

std::string known_hosts_name(const HostAddress& host) {
  return host.port == 22 ? host.address : fmt::format("[{}]:{}", host.address, host.port);
}

}  // namespace

struct SshTransport::Impl {
  // kJumpWait and kTunnelOpen: a host behind a bastion (ProxyJump) waits for
  // the bastion's session, then for a direct-tcpip channel through it.
  enum class ConnState {
    kIdle,
    kJumpWait,
    kTunnelOpen,
    kConnecting,
    kHandshake,
    kAuth,
    kReady,
    kBroken
  };
  enum class JumpOp { kNone, kOpen, kWrite, kRead };
  enum class TaskState { kOpen, kExec, kWrite, kEof, kRead, kClose, kWaitClosed, kFree };

  struct Connection {
    const HostAddress* address = nullptr;  // who this connection logs into
    ConnState state = ConnState::kIdle;
    int fd = -1;
    LIBSSH2_SESSION* session = nullptr;
    Clock::time_point deadline;
    std::size_t identity = 0;  // next identity file to try
    std::vector<std::string> identities_tried;
    LIBSSH2_AGENT* agent = nullptr;  // ssh-agent, tried before key files
    libssh2_agent_publickey* agent_key = nullptr;
    bool agent_done = false;
    int agent_keys_tried = 0;
    Error broken;  // why, once kBroken
    // Through a bastion: `fd` is our end of a socketpair that libssh2 reads
    // as if it were the host's socket; `tunnel_fd` is the other end, pumped
    // to and from the bastion's direct-tcpip channel.
    int jump = -1;
    LIBSSH2_CHANNEL* tunnel = nullptr;
    int tunnel_fd = -1;
    std::string to_channel;
    std::string to_local;
  };

  // One bastion session carries the tunnels of every host behind it.
  // libssh2 keeps one half-sent packet and one channel-open per session, so
  // when a call returns EAGAIN with output pending, the next call on the
  // session must be that same call (`busy_host`, `busy_op`).
  struct Jump {
    HostAddress address;
    Connection conn;
    int busy_host = -1;
    JumpOp busy_op = JumpOp::kNone;
    std::vector<LIBSSH2_CHANNEL*> dead_tunnels;  // freed when the transport closes
  };

  struct Running {
    std::size_t task = 0;
    TaskState state = TaskState::kOpen;
    LIBSSH2_CHANNEL* channel = nullptr;
    std::size_t written = 0;
    Clock::time_point deadline;
    CommandResult result;
    bool truncated = false;
  };

  // Per-host queue of task indices for the current run().
  struct HostWork {
    std::deque<std::size_t> queue;
    std::optional<Running> running;
    bool kick = true;  // advance it on the next loop turn
  };

  std::vector<HostAddress> hosts;
  SshOptions options;
  std::vector<Connection> connections;
  std::vector<Jump> jumps;
  LIBSSH2_SESSION* known_hosts_session = nullptr;  // owns `known` (never connected)
  LIBSSH2_KNOWNHOSTS* known = nullptr;
  std::atomic<bool> cancelled{false};

  // Per run():
  const std::vector<HostTask>* tasks = nullptr;
  const OutputFn* on_output = nullptr;
  std::vector<std::optional<Result<CommandResult>>> results;
  std::vector<HostWork> work;

  Impl(std::vector<HostAddress> h, SshOptions o) : hosts(std::move(h)), options(std::move(o)) {
    init_libssh2_once();
    connections.resize(hosts.size());
    jumps.reserve(hosts.size());  // Connection::address points into it
    for (std::size_t i = 0; i < hosts.size(); ++i) {
      connections[i].address = &hosts[i];
      if (!hosts[i].jump) continue;
      const HostAddress& j = *hosts[i].jump;
      auto same = [&](const Jump& x) {
        return x.address.address == j.address && x.address.port == j.port &&
               x.address.user == j.user;
      };
      auto it = std::find_if(jumps.begin(), jumps.end(), same);
      if (it == jumps.end()) {
        jumps.push_back(Jump{j, {}, -1, JumpOp::kNone, {}});
        it = jumps.end() - 1;
      }
      connections[i].jump = static_cast<int>(it - jumps.begin());
    }
    for (auto& j : jumps) j.conn.address = &j.address;
    known_hosts_session = libssh2_session_init();
    known = libssh2_knownhost_init(known_hosts_session);
    for (const auto& file : options.known_hosts_files) read_known_hosts(known, file);
  }

  ~Impl() {
    for (auto& c : connections) close_connection(c, true);
    for (auto& j : jumps) {
      if (j.conn.session != nullptr) {
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

  void close_connection(Connection& c, bool graceful) {
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
    if (c.tunnel != nullptr)
      jumps[static_cast<std::size_t>(c.jump)].dead_tunnels.push_back(c.tunnel);
    c.tunnel = nullptr;
    c.to_channel.clear();
    c.to_local.clear();
  }

  void fail_connection(Connection& c, ErrorKind kind, std::string message) {
    close_connection(c, false);
    c.state = ConnState::kBroken;
    c.broken = Error{kind, std::move(message)};
  }

  void break_connection(std::size_t h, ErrorKind kind, std::string message) {
    Connection& c = connections[h];
    if (work[h].running && work[h].running->channel != nullptr) {
      // The session goes away with its channels; freeing one now could block.
      work[h].running->channel = nullptr;
    }
    fail_connection(c, kind, std::move(message));
  }

  // --- connection phases -------------------------------------------------

  void start_connect(Connection& c) {
    const HostAddress& host = *c.address;
    c.deadline = Clock::now() + options.connect_timeout;
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

  bool advance_connecting(Connection& c) {
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

  void start_session(Connection& c) {
    c.session = libssh2_session_init();
    libssh2_session_set_blocking(c.session, 0);
    set_method_preferences(c.session);
    c.state = ConnState::kHandshake;
  }

  bool advance_handshake(Connection& c) {
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

  // Strict: only a MATCH proceeds to authentication. Returns why not.
  std::optional<std::string> check_host_key(Connection& c) {
    const HostAddress& host = *c.address;
    std::size_t len = 0;
    int type = 0;
    const char* key = libssh2_session_hostkey(c.session, &len, &type);
    if (key == nullptr) return "the server sent no host key";
    int key_type = known_host_key_type(type);
    libssh2_knownhost* entry = nullptr;
    int check = libssh2_knownhost_checkp(
        known, host.address.c_str(), host.port, key, len,
        LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | key_type, &entry);
    std::string fp = fingerprint(c.session);
    switch (check) {
      case LIBSSH2_KNOWNHOST_CHECK_MATCH:
        return std::nullopt;
      case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
        return fmt::format(
            "HOST KEY CHANGED for {} (now {}): refusing to connect; if the change is expected, "
            "remove the old key from known_hosts",
            known_hosts_name(host), fp);
      case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
        if (options.accept_new_host_keys) return accept_new_key(host, key, len, key_type, fp);
        return fmt::format(
            "unknown host key for {} ({}): not in known_hosts; verify it and add it, or run "
            "with --accept-new-host-keys",
            known_hosts_name(host), fp);
      default:
        return fmt::format("cannot check the host key of {}", known_hosts_name(host));
    }
  }

  std::optional<std::string> accept_new_key(const HostAddress& host, const char* key,
                                            std::size_t len, int key_type, const std::string& fp) {
    std::string name = known_hosts_name(host);
    libssh2_knownhost* added = nullptr;
    if (libssh2_knownhost_addc(
            known, name.c_str(), nullptr, key, len, nullptr, 0,
            LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | key_type, &added) != 0) {
      return fmt::format("cannot record the host key of {}", name);
    }
    if (options.known_hosts_files.empty()) return std::nullopt;
    char line[4096];
    std::size_t out_len = 0;
    if (libssh2_knownhost_writeline(known, added, line, sizeof line, &out_len,
                                    LIBSSH2_KNOWNHOST_FILE_OPENSSH) == 0) {
      const std::string& path = options.known_hosts_files.front();
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
      int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
      if (fd >= 0) {
        [[maybe_unused]] auto n = ::write(fd, line, out_len);
        ::close(fd);
      }
    }
    (void)fp;
    return std::nullopt;
  }

  // ssh-agent keys first, as OpenSSH does. The agent is a local socket, so
  // its own round trips block briefly; the server's answers do not.
  // Returns true when authenticated, false to fall through to key files;
  // `waiting` is set while libssh2 waits for the server.
  bool try_agent(Connection& c, const HostAddress& host, bool& waiting) {
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

  bool advance_auth(Connection& c) {
    const HostAddress& host = *c.address;
    bool waiting = false;
    if (try_agent(c, host, waiting)) {
      c.state = ConnState::kReady;
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
        c.state = ConnState::kReady;
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
    if (c.agent_keys_tried > 0)
      tried += fmt::format(" and {} ssh-agent key(s)", c.agent_keys_tried);
    fail_connection(c, ErrorKind::kUnreachable,
                    fmt::format("authentication as '{}' failed ({}; ed25519 and ecdsa keys work, "
                                "RSA needs libssh2 1.11)",
                                host.user, tried));
    return true;
  }

  // One step of TCP connect, SSH handshake and host key check, or
  // authentication; true if it made progress.
  bool advance_login(Connection& c) {
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

  // --- bastions (ProxyJump) ---------------------------------------------

  std::string bastion_name(const Jump& j) const {
    return fmt::format("{}@{}", j.address.user, known_hosts_name(j.address));
  }

  // Logs every bastion in use into its session; true if any made progress.
  bool advance_jumps() {
    bool any = false;
    for (auto& j : jumps) {
      while (advance_login(j.conn)) any = true;
    }
    return any;
  }

  bool advance_jump_wait(Connection& c) {
    Jump& j = jumps[static_cast<std::size_t>(c.jump)];
    if (j.conn.state == ConnState::kIdle) {
      start_connect(j.conn);
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

  bool session_wants_to_send(LIBSSH2_SESSION* session) const {
    return (libssh2_session_block_directions(session) & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0;
  }

  // Opens the direct-tcpip channel to the host and hands libssh2 one end of
  // a socketpair as the host's socket.
  bool open_tunnel(std::size_t h) {
    Connection& c = connections[h];
    Jump& j = jumps[static_cast<std::size_t>(c.jump)];
    if (j.busy_host >= 0 && j.busy_host != static_cast<int>(h)) return false;
    LIBSSH2_CHANNEL* channel = libssh2_channel_direct_tcpip_ex(
        j.conn.session, c.address->address.c_str(), c.address->port, "127.0.0.1", 22);
    if (channel == nullptr) {
      if (libssh2_session_last_errno(j.conn.session) == LIBSSH2_ERROR_EAGAIN) {
        j.busy_host = static_cast<int>(h);  // one channel open at a time per session
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

  // Moves bytes between one host's socketpair and its bastion channel.
  // Returns true if any byte moved.
  bool pump(std::size_t h) {
    Connection& c = connections[h];
    if (c.tunnel == nullptr) return false;
    Jump& j = jumps[static_cast<std::size_t>(c.jump)];
    const int me = static_cast<int>(h);
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

  bool pump_all() {
    bool any = false;
    for (std::size_t h = 0; h < connections.size(); ++h) {
      if (pump(h)) {
        any = true;
        if (h < work.size()) work[h].kick = true;
      }
    }
    return any;
  }

  // --- tasks ---------------------------------------------------------------

  void finish_task(std::size_t h, Result<CommandResult> result) {
    HostWork& w = work[h];
    results[w.running->task] = std::move(result);
    w.running.reset();
  }

  void append_output(std::size_t h, Running& r, bool is_stderr, const char* data, std::size_t n) {
    std::string& sink = is_stderr ? r.result.err : r.result.out;
    if (on_output != nullptr && *on_output) (*on_output)(h, is_stderr, std::string_view(data, n));
    if (sink.size() + n > options.max_output_bytes) {
      r.truncated = true;
      n = options.max_output_bytes > sink.size() ? options.max_output_bytes - sink.size() : 0;
    }
    sink.append(data, n);
  }

  // Reads whatever is buffered on both streams; true if anything arrived.
  bool read_streams(std::size_t h, Running& r) {
    bool progress = false;
    char buffer[32768];
    for (int stream : {0, SSH_EXTENDED_DATA_STDERR}) {
      while (true) {
        ssize_t n = libssh2_channel_read_ex(r.channel, stream, buffer, sizeof buffer);
        if (n > 0) {
          append_output(h, r, stream != 0, buffer, static_cast<std::size_t>(n));
          progress = true;
          continue;
        }
        if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
          break_connection(
              h, ErrorKind::kUnreachable,
              fmt::format("connection lost: {}", session_error(connections[h].session)));
          return true;
        }
        break;
      }
    }
    return progress;
  }

  bool advance_task(std::size_t h) {
    Connection& c = connections[h];
    Running& r = *work[h].running;
    const RemoteCommand& cmd = (*tasks)[r.task].command;
    auto lost = [&](const char* what) {
      break_connection(h, ErrorKind::kUnreachable,
                       fmt::format("{}: {}", what, session_error(c.session)));
      return true;
    };
    switch (r.state) {
      case TaskState::kOpen: {
        r.channel = libssh2_channel_open_session(c.session);
        if (r.channel == nullptr) {
          if (libssh2_session_last_errno(c.session) == LIBSSH2_ERROR_EAGAIN) return false;
          return lost("cannot open a channel");
        }
        r.state = TaskState::kExec;
        return true;
      }
      case TaskState::kExec: {
        int rc = libssh2_channel_exec(r.channel, cmd.command.c_str());
        if (rc == LIBSSH2_ERROR_EAGAIN) return false;
        if (rc != 0) return lost("cannot start the command");
        r.state = TaskState::kWrite;
        return true;
      }
      case TaskState::kWrite: {
        // stdin first, then output: commands that take stdin (uploads) read
        // it before they write much, and libssh2 cannot interleave a read
        // with a half-sent write.
        bool progress = false;
        while (r.written < cmd.stdin_data.size()) {
          ssize_t n = libssh2_channel_write(r.channel, cmd.stdin_data.data() + r.written,
                                            cmd.stdin_data.size() - r.written);
          if (n == LIBSSH2_ERROR_EAGAIN) return progress;
          if (n < 0) return lost("sending input failed");
          r.written += static_cast<std::size_t>(n);
          progress = true;
        }
        r.state = TaskState::kEof;
        return true;
      }
      case TaskState::kEof: {
        int rc = libssh2_channel_send_eof(r.channel);
        if (rc == LIBSSH2_ERROR_EAGAIN) return false;
        r.state = TaskState::kRead;
        return true;
      }
      case TaskState::kRead: {
        bool progress = read_streams(h, r);
        if (c.state == ConnState::kBroken) return true;
        if (libssh2_channel_eof(r.channel) == 1) {
          read_streams(h, r);
          if (c.state == ConnState::kBroken) return true;
          r.state = TaskState::kClose;
          return true;
        }
        return progress;
      }
      case TaskState::kClose: {
        int rc = libssh2_channel_close(r.channel);
        if (rc == LIBSSH2_ERROR_EAGAIN) return false;
        r.state = TaskState::kWaitClosed;
        return true;
      }
      case TaskState::kWaitClosed: {
        int rc = libssh2_channel_wait_closed(r.channel);
        if (rc == LIBSSH2_ERROR_EAGAIN) return false;
        r.result.exit_status = libssh2_channel_get_exit_status(r.channel);
        char* signal = nullptr;
        std::size_t signal_len = 0;
        libssh2_channel_get_exit_signal(r.channel, &signal, &signal_len, nullptr, nullptr, nullptr,
                                        nullptr);
        if (signal != nullptr) {
          r.result.exit_signal.assign(signal, signal_len);
          libssh2_free(c.session, signal);
        }
        r.state = TaskState::kFree;
        return true;
      }
      case TaskState::kFree: {
        int rc = libssh2_channel_free(r.channel);
        if (rc == LIBSSH2_ERROR_EAGAIN) return false;
        r.channel = nullptr;
        if (r.truncated) r.result.err += "\n[flotilla: output truncated]";
        finish_task(h, std::move(r.result));
        return true;
      }
    }
    return false;
  }

  // Advances one host as far as it goes without blocking.
  void advance(std::size_t h) {
    HostWork& w = work[h];
    Connection& c = connections[h];
    bool progress = true;
    while (progress) {
      progress = false;
      switch (c.state) {
        case ConnState::kIdle:
          if (c.jump >= 0) {
            c.deadline = Clock::now() + options.connect_timeout;
            c.state = ConnState::kJumpWait;
          } else {
            start_connect(c);
          }
          progress = true;
          break;
        case ConnState::kJumpWait:
          progress = advance_jump_wait(c);
          break;
        case ConnState::kTunnelOpen:
          progress = open_tunnel(h);
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
            if (w.queue.empty() || cancelled) return;
            w.running.emplace();
            w.running->task = w.queue.front();
            w.queue.pop_front();
            w.running->deadline = Clock::now() + (*tasks)[w.running->task].command.timeout;
          }
          progress = advance_task(h);
          break;
      }
    }
  }

  // The host's running task and everything queued behind it fail with `error`.
  void fail_host(std::size_t h, const Error& error) {
    HostWork& w = work[h];
    if (w.running) finish_task(h, tl::unexpected(error));
    for (std::size_t t : w.queue) results[t] = tl::unexpected(error);
    w.queue.clear();
  }

  bool host_done(std::size_t h) const {
    const HostWork& w = work[h];
    return !w.running &&
           (w.queue.empty() || connections[h].state == ConnState::kBroken || cancelled);
  }

  void check_deadlines(std::size_t h, Clock::time_point now) {
    Connection& c = connections[h];
    bool connecting = c.state == ConnState::kJumpWait || c.state == ConnState::kTunnelOpen ||
                      c.state == ConnState::kConnecting || c.state == ConnState::kHandshake ||
                      c.state == ConnState::kAuth;
    if (connecting && now >= c.deadline) {
      break_connection(
          h, ErrorKind::kUnreachable,
          fmt::format("timed out connecting after {}", format_duration(options.connect_timeout)));
      fail_host(h, c.broken);
      return;
    }
    HostWork& w = work[h];
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

  short poll_events(std::size_t h) const {
    const Connection& c = connections[h];
    if (c.state == ConnState::kConnecting) return POLLOUT;
    int dirs = c.session != nullptr ? libssh2_session_block_directions(c.session) : 0;
    short events = 0;
    if (dirs & LIBSSH2_SESSION_BLOCK_INBOUND) events |= POLLIN;
    if (dirs & LIBSSH2_SESSION_BLOCK_OUTBOUND) events |= POLLOUT;
    return events != 0 ? events : POLLIN;
  }

  std::vector<Result<CommandResult>> run(const std::vector<HostTask>& all, const OutputFn& output) {
    tasks = &all;
    on_output = &output;
    results.assign(all.size(), std::nullopt);
    work.assign(hosts.size(), HostWork{});
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

    std::vector<std::size_t> active;
    std::vector<pollfd> fds;
    std::vector<std::size_t> fd_hosts;
    while (true) {
      while (!cancelled && active.size() < options.forks && !pending.empty()) {
        active.push_back(pending.front());
        work[pending.front()].kick = true;
        pending.pop_front();
      }
      // Bastions first, then bytes through them, then the hosts; again until
      // nothing moves, as libssh2 may hold data it already read.
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
      std::erase_if(active, [&](std::size_t h) { return host_done(h); });
      if (active.empty() && (pending.empty() || cancelled)) break;
      if (active.empty()) continue;

      auto now = Clock::now();
      auto next = now + std::chrono::milliseconds(500);
      fds.clear();
      fd_hosts.clear();
      for (std::size_t h : active) {
        const Connection& c = connections[h];
        if (c.fd < 0) {
          work[h].kick = true;
          continue;
        }
        fds.push_back(pollfd{c.fd, poll_events(h), 0});
        fd_hosts.push_back(h);
        next = std::min(next, c.state == ConnState::kReady && work[h].running
                                  ? work[h].running->deadline
                                  : c.deadline);
      }
      std::size_t host_fds = fds.size();
      for (auto& j : jumps) {
        if (j.conn.fd < 0) continue;
        short events = j.conn.state == ConnState::kConnecting ? POLLOUT : POLLIN;
        if (j.conn.session != nullptr && session_wants_to_send(j.conn.session)) events |= POLLOUT;
        fds.push_back(pollfd{j.conn.fd, events, 0});
        if (j.conn.state != ConnState::kReady) next = std::min(next, j.conn.deadline);
      }
      for (std::size_t h : active) {
        const Connection& c = connections[h];
        if (c.tunnel_fd < 0) continue;
        fds.push_back(pollfd{
            c.tunnel_fd, static_cast<short>(c.to_local.empty() ? POLLIN : POLLIN | POLLOUT), 0});
      }
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
      int ready =
          ::poll(fds.data(), fds.size(), static_cast<int>(std::clamp<long long>(wait, 0, 500)));
      if (ready < 0 && errno != EINTR) break;
      for (std::size_t i = 0; i < host_fds; ++i) {
        if (fds[i].revents != 0) work[fd_hosts[i]].kick = true;
      }
      now = Clock::now();
      for (auto& j : jumps) {
        bool logging_in = j.conn.state == ConnState::kConnecting ||
                          j.conn.state == ConnState::kHandshake || j.conn.state == ConnState::kAuth;
        if (logging_in && now >= j.conn.deadline) {
          fail_connection(j.conn, ErrorKind::kUnreachable,
                          fmt::format("timed out connecting after {}",
                                      format_duration(options.connect_timeout)));
        }
      }
      for (std::size_t h : active) {
        if (connections[h].state == ConnState::kJumpWait) work[h].kick = true;
      }
      for (std::size_t h : active) {
        check_deadlines(h, now);
        if (connections[h].state == ConnState::kReady && work[h].running == std::nullopt) {
          work[h].kick = true;  // start its next task
        }
      }
    }

    std::vector<Result<CommandResult>> out;
    out.reserve(all.size());
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
};

SshTransport::SshTransport(std::vector<HostAddress> hosts, SshOptions options)
    : impl_(std::make_unique<Impl>(std::move(hosts), std::move(options))) {}

SshTransport::~SshTransport() = default;

std::vector<Result<CommandResult>> SshTransport::run(const std::vector<HostTask>& tasks,
                                                     const OutputFn& on_output) {
  return impl_->run(tasks, on_output);
}

void SshTransport::cancel() { impl_->cancelled = true; }

void SshTransport::resume() { impl_->cancelled = false; }

std::string SshTransport::library_version() { return std::string("libssh2 ") + libssh2_version(0); }

bool SshTransport::supports_rsa_sha2() { return LIBSSH2_VERSION_NUM >= 0x010b00; }

}  // namespace flotilla

namespace flotilla {

KnownHostVerdict check_known_host(const std::vector<std::string>& known_hosts_files,
                                  const std::string& host, int port, const std::string& key_type,
                                  const char* key, std::size_t key_length) {
  init_libssh2_once();
  static const std::pair<const char*, int> kTypes[] = {
      {"ssh-ed25519", LIBSSH2_KNOWNHOST_KEY_ED25519},
      {"ecdsa-sha2-nistp256", LIBSSH2_KNOWNHOST_KEY_ECDSA_256},
      {"ecdsa-sha2-nistp384", LIBSSH2_KNOWNHOST_KEY_ECDSA_384},
      {"ecdsa-sha2-nistp521", LIBSSH2_KNOWNHOST_KEY_ECDSA_521},
      {"ssh-rsa", LIBSSH2_KNOWNHOST_KEY_SSHRSA}};
  int type = LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
  for (auto [name, value] : kTypes) {
    if (key_type == name) type = value;
  }
  if (type == LIBSSH2_KNOWNHOST_KEY_UNKNOWN || key == nullptr) return KnownHostVerdict::kFailure;
  LIBSSH2_SESSION* session = libssh2_session_init();
  LIBSSH2_KNOWNHOSTS* known = libssh2_knownhost_init(session);
  for (const auto& path : known_hosts_files) read_known_hosts(known, path);
  libssh2_knownhost* entry = nullptr;
  int check = libssh2_knownhost_checkp(
      known, host.c_str(), port, key, key_length,
      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | type, &entry);
  libssh2_knownhost_free(known);
  libssh2_session_free(session);
  switch (check) {
    case LIBSSH2_KNOWNHOST_CHECK_MATCH:
      return KnownHostVerdict::kMatch;
    case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
      return KnownHostVerdict::kMismatch;
    case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
      return KnownHostVerdict::kNotFound;
    default:
      return KnownHostVerdict::kFailure;
  }
}

}  // namespace flotilla
