#include "playbooks/change/background_watch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace flotilla {
namespace {

// How long the command waits for the background process to take the lock
// over: one round trip to the lock host, with room for a slow one.
constexpr int kHandOverWaitMs = 60'000;

// Everything the background process writes to `fd` before closing it (its
// word on the hand-over), or what was read when it died or went quiet.
std::string read_word(int fd) {
  std::string word;
  char buffer[512];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, kHandOverWaitMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    word.append(buffer, static_cast<std::size_t>(n));
  }
  return word;
}

// In the background process: off the terminal, its output to the log.
void become_background(int log_fd) {
  ::setsid();  // no terminal: closing it sends no SIGHUP, Ctrl-C there none
  int null = ::open("/dev/null", O_RDONLY);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::close(null);
  }
  ::dup2(log_fd, STDOUT_FILENO);
  ::dup2(log_fd, STDERR_FILENO);
  ::close(log_fd);
}

}  // namespace

Result<void> go_on_in_background(const ChangeContext& context, DeployLock& lock,
                                 const LockHolder& holder, const std::vector<std::string>& units,
                                 const std::string& log_path) {
  Reporter& reporter = context.reporter;
  const std::string watched = fmt::format("{}", fmt::join(units, ", "));
  const std::string& env = context.targets.environment->name;
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    return fail(ErrorKind::kFailed,
                fmt::format("--no-wait: cannot open {}: {}", log_path, std::strerror(errno)));
  }
  int word_pipe[2];
  if (::pipe2(word_pipe, O_CLOEXEC) != 0) {
    ::close(log_fd);
    return fail(ErrorKind::kFailed, fmt::format("--no-wait: {}", std::strerror(errno)));
  }
  std::fflush(nullptr);  // nothing buffered is printed twice
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    ::close(word_pipe[0]);
    ::close(word_pipe[1]);
    return fail(ErrorKind::kFailed,
                fmt::format("--no-wait: cannot start a process: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    ::close(word_pipe[0]);
    become_background(log_fd);
    reporter.to_log_file();
    reporter.progress(
        fmt::format("pid {}: the change goes on in the background ({}), holding "
                    "the lock",
                    ::getpid(), watched));
    LockHolder me = holder;
    me.pid = ::getpid();
    me.message = fmt::format("{} (watching {} in the background, log {})", holder.message, watched,
                             log_path);
    auto handed = lock.hand_over(me);
    std::string word = handed ? "ok" : handed.error().message;
    if (!handed) {
      reporter.warning(fmt::format("the lock still names pid {}: {}", holder.pid, word));
    }
    (void)!::write(word_pipe[1], word.data(), word.size());
    ::close(word_pipe[1]);
    return {};
  }
  ::close(log_fd);
  ::close(word_pipe[1]);
  std::string word = read_word(word_pipe[0]);
  ::close(word_pipe[0]);
  int code = 0;
  if (word.empty()) {
    reporter.error(
        fmt::format("the background process (pid {}) ended before taking the lock over; see {} and "
                    "`flotilla lock status`",
                    pid, log_path));
    code = 1;
  } else {
    if (word != "ok") reporter.warning(fmt::format("--no-wait: {}", word));
    reporter.event("watch",
                   {{"state", "background"}, {"units", units}, {"pid", pid}, {"log", log_path}});
    reporter.text(
        fmt::format("{}: the watch goes on in the background (pid {}), holding the lock; its "
                    "output: {}. `flotilla rollback {} {}` from any controller ends it; "
                    "`flotilla -e {} lock status` shows it",
                    watched, pid, log_path, env, units.size() == 1 ? units.front() : "UNIT", env));
  }
  std::fflush(nullptr);
  // Not exit(): destructors would close SSH sessions the background process
  // now speaks on.
  ::_exit(code);
}

}  // namespace flotilla
