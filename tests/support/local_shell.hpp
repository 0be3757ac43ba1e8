#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "core/transport.hpp"

namespace flotilla::test {

// Runs a RemoteCommand with the local /bin/sh, as sshd runs it for the
// remote user (`sh -c COMMAND`, stdin from the command): host scripts are
// tested as hosts run them, against a temporary directory, without sshd.
// `env` is added to the environment (HOME for the lock scripts).
inline int next_run = 0;

inline CommandResult run_on_local_shell(const RemoteCommand& command,
                                        const std::map<std::string, std::string>& env = {}) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("flotilla-local-shell-" + std::to_string(::getpid()) +
                                              "-" + std::to_string(next_run++));
  fs::create_directories(dir);
  std::ofstream(dir / "in", std::ios::binary)
      << (command.stdin_head ? *command.stdin_head : std::string()) << command.stdin_data;
  pid_t child = ::fork();
  if (child == 0) {
    int in = ::open((dir / "in").c_str(), O_RDONLY);
    int out = ::open((dir / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = ::open((dir / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    for (const auto& [name, value] : env) ::setenv(name.c_str(), value.c_str(), 1);
    ::execl("/bin/sh", "sh", "-c", command.command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  auto slurp = [](const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  CommandResult result;
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (WIFSIGNALED(status)) result.exit_signal = std::to_string(WTERMSIG(status));
  result.out = slurp(dir / "out");
  result.err = slurp(dir / "err");
  fs::remove_all(dir);
  return result;
}

}  // namespace flotilla::test
