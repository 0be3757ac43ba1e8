#pragma once

#include <map>
#include <string>

#include "core/duration.hpp"
#include "core/error.hpp"

namespace flotilla {

struct BuildRun {
  int exit_status = -1;
  Duration elapsed{0};
  std::string log_path;  // stdout and stderr, interleaved
};

// Runs `command` with /bin/sh in `dir` with exactly `env` (no inherited
// variables: builds are reproducible and secrets in the caller's environment
// stay out), output to `log_path`. kTimeout past `timeout` (the build's whole
// process group is killed).
Result<BuildRun> run_build(const std::string& command, const std::string& dir,
                           const std::map<std::string, std::string>& env,
                           const std::string& log_path, Duration timeout);

// The last `lines` lines of a file, for error messages.
std::string tail_of_file(const std::string& path, int lines);

}  // namespace flotilla
