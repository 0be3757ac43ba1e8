#pragma once

// The state behind SshTransport: libssh2 sessions for every host (and
// bastion), the tasks running on them, and the methods one poll() loop
// calls to advance each without blocking. Each concept's methods live in
// their own file: connection.cpp, login.cpp, host_key_check.cpp,
// jump_tunnel.cpp, channel_task.cpp, poll_loop.cpp.
#include <poll.h>
#include <atomic>

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <libssh2.h>

#include "core/ssh/command_starts.hpp"
#include "core/ssh/libssh2_support.hpp"
#include "core/ssh/ssh_transport.hpp"
#include "core/ssh/start_governor.hpp"

namespace flotilla {

using ssh::Clock;

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
    Clock::time_point connect_started;  // for the handshake governor
    std::size_t identity = 0;           // next identity file to try
    std::vector<std::string> identities_tried;
    LIBSSH2_AGENT* agent = nullptr;  // ssh-agent, tried before key files
    libssh2_agent_publickey* agent_key = nullptr;
    bool agent_done = false;
    int agent_keys_tried = 0;
    Error broken;                  // why, once kBroken
    Clock::time_point last_heard;  // last bytes from the host (keepalive replies count)
    // Through a bastion: `fd` is our end of a socketpair that libssh2 reads
    // as if it were the host's socket; `tunnel_fd` is the other end, pumped
    // to and from the bastion's direct-tcpip channel.
    int jump = -1;
    LIBSSH2_CHANNEL* tunnel = nullptr;
    int tunnel_fd = -1;
    std::string to_channel;
    std::string to_local;
  };

  // One bastion session carries the tunnels of every host (and bastion)
  // behind it; a bastion behind another (ProxyJump a,b) has `conn.jump` set,
  // as a host does. libssh2 keeps one half-sent packet and one channel-open
  // per session, so when a call returns EAGAIN with output pending, the
  // next call on the session must be that same call by the same user
  // (`busy_host`: a host index, or hosts.size() + a bastion index; `busy_op`).
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
    // A paced command counts in CommandStarts from when it begins until it
    // answers (first output or exit) or is silent for the start window
    // after its exec reply.
    bool starting = false;
    Clock::time_point exec_replied;  // when it began, until the reply came
    // A paced command runs as kStartMark + command: its first byte on
    // stdout is the mark, printed once its login shell has started, so a
    // command that runs long before it prints is not taken for a slow
    // start. Dropped from the output.
    std::string exec_line;
    bool mark_pending = false;
  };

  // Per-host queue of task indices for the current run().
  // Printed by the remote login shell before the command (see Running).
  static constexpr char kStartMarkByte = '\036';
  static constexpr const char* kStartMark = "printf '\\036'; ";

  struct HostWork {
    std::deque<std::size_t> queue;
    std::optional<Running> running;
    bool kick = true;  // advance it on the next loop turn
  };

  std::vector<HostAddress> hosts;
  SshOptions options;
  StartGovernor governor;        // how many new connections at once; learns across run()s
  CommandStarts command_starts;  // how many commands starting at once; learns across run()s
  std::vector<Connection> connections;
  std::vector<Jump> jumps;
  LIBSSH2_SESSION* known_hosts_session = nullptr;  // owns `known` (never connected)
  LIBSSH2_KNOWNHOSTS* known = nullptr;
  std::atomic<bool> cancelled{false};
  std::atomic<bool> abandoned{false};  // a second Ctrl-C: stop waiting for commands in flight
  std::atomic<int> holds{0};           // hold_interrupts() depth: the flags wait until it is 0

  // The flags as run() acts on them: not while interrupts are held.
  bool stop_starting() const { return cancelled && holds == 0; }
  bool stop_waiting() const { return abandoned && holds == 0; }

  // Keepalives every kKeepaliveInterval; a host silent for kSilenceLimit
  // while a command runs is lost (frozen: its TCP is alive, its sshd not).
  static constexpr std::chrono::seconds kKeepaliveInterval{5};
  static constexpr std::chrono::seconds kSilenceLimit{20};

  // Per run():
  const std::vector<HostTask>* tasks = nullptr;
  const OutputFn* on_output = nullptr;
  std::vector<std::optional<Result<CommandResult>>> results;
  std::vector<HostWork> work;

  Impl(std::vector<HostAddress> h, SshOptions o);

  ~Impl();

  void close_connection(Connection& c, bool graceful);

  void fail_connection(Connection& c, ErrorKind kind, std::string message);

  void break_connection(std::size_t h, ErrorKind kind, std::string message);

  // --- connection phases -------------------------------------------------

  void start_connect(Connection& c);

  bool advance_connecting(Connection& c);

  void start_session(Connection& c);

  bool advance_handshake(Connection& c);

  // Strict: only a MATCH proceeds to authentication. Returns why not.
  std::optional<std::string> check_host_key(Connection& c);

  // Records a host key not yet known (--accept-new-host-keys) in the
  // first known_hosts file; never replaces a changed one.
  std::optional<std::string> accept_new_key(const HostAddress& host, const char* key,
                                            std::size_t len, int key_type, const std::string& fp);

  // ssh-agent keys first, as OpenSSH does. The agent is a local socket, so
  // its own round trips block briefly; the server's answers do not.
  // Returns true when authenticated, false to fall through to key files;
  // `waiting` is set while libssh2 waits for the server.
  bool try_agent(Connection& c, const HostAddress& host, bool& waiting);

  bool advance_auth(Connection& c);

  void became_ready(Connection& c);

  // Sends keepalives that are due; loses a host silent past kSilenceLimit
  // while a command of it runs.
  void keep_alive(std::size_t h, Clock::time_point now);

  // After abandon(): every command in flight fails as abandoned, its
  // connection dropped (the host finishes the step on its own).
  void abandon_in_flight(const std::vector<std::size_t>& active);

  // One step of TCP connect, SSH handshake and host key check, or
  // authentication; true if it made progress.
  bool advance_login(Connection& c);

  // --- bastions (ProxyJump) ---------------------------------------------

  std::string bastion_name(const Jump& j) const;

  // Logs every bastion in use into its session; true if any made progress.
  bool advance_jumps();

  bool advance_jump_wait(Connection& c);

  // The bastion `address` (and those before it) in `jumps`: its index.
  int add_jump(const HostAddress& address);

  // Starts a connection: straight to its host, or through its bastion.
  void begin_connection(Connection& c);

  bool session_wants_to_send(LIBSSH2_SESSION* session) const;

  // Opens the direct-tcpip channel to the connection's host through its
  // bastion and hands libssh2 one end of a socketpair as the host's socket.
  // `owner`: who the connection is (see Jump::busy_host).
  bool open_tunnel(Connection& c, int owner);

  // Moves bytes between one connection's socketpair and its bastion
  // channel. Returns true if any byte moved.
  bool pump(Connection& c, int owner);

  bool pump_all();

  // --- tasks ---------------------------------------------------------------

  void finish_task(std::size_t h, Result<CommandResult> result);

  // The running task's start is over: it answered after `took`, or (nullopt)
  // it failed first. No-op for a task not counted as starting.
  void end_start(Running& r, std::optional<Duration> took);

  // A host that is connected and idle may start its next task now: it is
  // not paced, or a start slot is free.
  bool may_start_next(std::size_t h) const;

  // Whether the task's start waits for a slot in `command_starts`.
  bool paced(std::size_t task) const;

  void append_output(std::size_t h, Running& r, bool is_stderr, const char* data, std::size_t n);

  // Reads whatever is buffered on both streams; true if anything arrived.
  bool read_streams(std::size_t h, Running& r);

  bool advance_task(std::size_t h);
  bool write_stdin(std::size_t h, Running& r);
  bool collect_exit(std::size_t h, Running& r);

  // Advances one host as far as it goes without blocking.
  void advance(std::size_t h);

  // The host's running task and everything queued behind it fail with `error`.
  void fail_host(std::size_t h, const Error& error);

  bool host_done(std::size_t h) const;

  void check_deadlines(std::size_t h, Clock::time_point now);

  short poll_events(std::size_t h) const;

  std::vector<Result<CommandResult>> run(const std::vector<HostTask>& all, const OutputFn& output);
  // run()'s steps, one loop turn at a time (poll_loop.cpp):
  std::deque<std::size_t> begin_run(const std::vector<HostTask>& all, const OutputFn& output);
  // Moves pending hosts to `active` as far as forks, handshake slots and
  // start pacing allow.
  void admit_hosts(std::vector<std::size_t>& active, std::deque<std::size_t>& pending);
  // Bastions, then bytes through them, then the hosts, until nothing moves.
  void advance_active(const std::vector<std::size_t>& active);
  // The sockets to poll (the hosts' first, `host_fds` of them) and the
  // nearest deadline.
  Clock::time_point poll_set(const std::vector<std::size_t>& active, std::vector<pollfd>& fds,
                             std::vector<std::size_t>& fd_hosts, Clock::time_point now);
  // After poll(): jump hosts' login deadlines, keepalives, command
  // deadlines, next tasks.
  void after_poll(const std::vector<std::size_t>& active, Clock::time_point now);
  std::vector<Result<CommandResult>> end_run();
};

}  // namespace flotilla
