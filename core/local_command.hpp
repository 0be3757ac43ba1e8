#pragma once

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

}  // namespace flotilla
