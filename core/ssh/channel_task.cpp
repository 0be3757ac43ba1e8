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

namespace flotilla {

using ssh::session_error;

void SshTransport::Impl::end_start(Running& r, std::optional<Duration> took) {
  if (!r.starting) return;
  r.starting = false;
  if (took) {
    command_starts.answered(*took);
  } else {
    command_starts.dropped();
  }
}

void SshTransport::Impl::finish_task(std::size_t h, Result<CommandResult> result) {
  HostWork& w = work[h];
  std::optional<Duration> took;
  if (result) {
    took = std::chrono::duration_cast<Duration>(Clock::now() - w.running->exec_replied);
  }
  end_start(*w.running, took);
  results[w.running->task] = std::move(result);
  w.running.reset();
}

void SshTransport::Impl::append_output(std::size_t h, Running& r, bool is_stderr, const char* data,
                                       std::size_t n) {
  std::string& sink = is_stderr ? r.result.err : r.result.out;
  if (n > 0) end_start(r, std::chrono::duration_cast<Duration>(Clock::now() - r.exec_replied));
  if (!is_stderr && n > 0 && r.mark_pending) {
    // A shell that ran something else first (a forced command) printed no
    // mark: its byte is output.
    r.mark_pending = false;
    if (data[0] == kStartMarkByte) {
      ++data;
      --n;
    }
    if (n == 0) return;
  }
  if (on_output != nullptr && *on_output) (*on_output)(h, is_stderr, std::string_view(data, n));
  if (sink.size() + n > options.max_output_bytes) {
    r.truncated = true;
    n = options.max_output_bytes > sink.size() ? options.max_output_bytes - sink.size() : 0;
  }
  sink.append(data, n);
}

// Reads whatever is buffered on both streams; true if anything arrived.
bool SshTransport::Impl::read_streams(std::size_t h, Running& r) {
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
        break_connection(h, ErrorKind::kUnreachable,
                         fmt::format("connection lost: {}", session_error(connections[h].session)));
        return true;
      }
      break;
    }
  }
  return progress;
}

// stdin first, then output: commands that take stdin (uploads) read it
// before they write much, and libssh2 cannot interleave a read with a
// half-sent write.
bool SshTransport::Impl::write_stdin(std::size_t h, Running& r) {
  const RemoteCommand& cmd = (*tasks)[r.task].command;
  bool progress = false;
  while (r.written < cmd.stdin_size()) {
    std::string_view rest = cmd.stdin_from(r.written);
    ssize_t n = libssh2_channel_write(r.channel, rest.data(), rest.size());
    if (n == LIBSSH2_ERROR_EAGAIN) return progress;
    if (n < 0) {
      break_connection(
          h, ErrorKind::kUnreachable,
          fmt::format("sending input failed: {}", session_error(connections[h].session)));
      return true;
    }
    r.written += static_cast<std::size_t>(n);
    if (cmd.stdin_sent) cmd.stdin_sent->store(r.written, std::memory_order_relaxed);
    progress = true;
  }
  r.state = TaskState::kEof;
  return true;
}

// The command's exit status, or the signal that ended it.
bool SshTransport::Impl::collect_exit(std::size_t h, Running& r) {
  int rc = libssh2_channel_wait_closed(r.channel);
  if (rc == LIBSSH2_ERROR_EAGAIN) return false;
  r.result.exit_status = libssh2_channel_get_exit_status(r.channel);
  char* signal = nullptr;
  std::size_t signal_len = 0;
  libssh2_channel_get_exit_signal(r.channel, &signal, &signal_len, nullptr, nullptr, nullptr,
                                  nullptr);
  if (signal != nullptr) {
    r.result.exit_signal.assign(signal, signal_len);
    libssh2_free(connections[h].session, signal);
  }
  r.state = TaskState::kFree;
  return true;
}

bool SshTransport::Impl::advance_task(std::size_t h) {
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
      const std::string& line = r.exec_line.empty() ? cmd.command : r.exec_line;
      int rc = libssh2_channel_exec(r.channel, line.c_str());
      if (rc == LIBSSH2_ERROR_EAGAIN) return false;
      if (rc != 0) return lost("cannot start the command");
      r.exec_replied = Clock::now();
      r.state = TaskState::kWrite;
      return true;
    }
    case TaskState::kWrite:
      return write_stdin(h, r);
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
    case TaskState::kWaitClosed:
      return collect_exit(h, r);
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

}  // namespace flotilla
