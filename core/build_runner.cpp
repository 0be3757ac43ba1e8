#include "core/build_runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace flotilla {

Result<BuildRun> run_build(const std::string& command, const std::string& dir,
                           const std::map<std::string, std::string>& env,
                           const std::string& log_path, Duration timeout) {
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0) return fail(ErrorKind::kFailed, fmt::format("cannot write build log {}", log_path));
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log);
    return fail(ErrorKind::kFailed, "fork failed");
  }
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group, so a timeout kills the whole build
    // flotilla ignores SIGPIPE and runs with umask 077; a build gets the
    // usual defaults (an ignored signal would survive exec: `yes | head`).
    ::signal(SIGPIPE, SIG_DFL);
    ::umask(022);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, STDIN_FILENO);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    if (::chdir(dir.c_str()) != 0) ::_exit(127);
    const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
    ::execve("/bin/sh", const_cast<char* const*>(argv), envp.data());
    ::_exit(127);
  }
  ::close(log);
  int status = 0;
  while (true) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (std::chrono::steady_clock::now() - start > timeout) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return fail(ErrorKind::kTimeout, fmt::format("build timed out after {} (log: {})",
                                                   format_duration(timeout), log_path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  BuildRun run;
  run.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.elapsed = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - start);
  run.log_path = log_path;
  return run;
}

std::string tail_of_file(const std::string& path, int lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (static_cast<int>(last.size()) > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += "  | " + l + "\n";
  return out;
}

}  // namespace flotilla
