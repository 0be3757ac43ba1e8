#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace flotilla {

struct LocalResult {
  int exit_status = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

// Runs a program on the controller (argv[0] looked up in PATH, never a
// shell) with `input` on its stdin; collects stdout and stderr (each capped
// at 1 MiB). kFailed only when it cannot be started.
Result<LocalResult> run_local(const std::vector<std::string>& argv, const std::string& input = "");

// Runs `command` as ssh runs a `Match exec` condition: `$SHELL -c command`
// (/bin/sh when SHELL is unset), stdin and stdout on /dev/null, stderr
// shared. Only the shell is waited for, so a daemon it starts (gpg-agent)
// holds nothing up. Returns its exit status; kFailed when it cannot start
// or has not finished within `timeout` (its process group is then killed).
Result<int> run_shell_condition(const std::string& command, std::chrono::milliseconds timeout);

}  // namespace flotilla
