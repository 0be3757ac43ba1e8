#pragma once

#include <string>

#include "core/error.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

// Reads and validates flotilla.yaml (schema v1, DESIGN.md) in one pass that
// reports every problem as "FILE:LINE:COL: message" (kBadInput, one per
// line) before anything acts. Relative paths are resolved against the file's
// directory; no inventory is read and no network is touched.
Result<Project> load_project_file(const std::string& path);

// `-f FILE`, else ./flotilla.yaml; kBadInput naming what was looked for.
Result<std::string> find_project_file(const std::string& given);

// Parses "25%", "3"; nullopt otherwise.
std::optional<HostCount> parse_host_count(const std::string& text);

}  // namespace flotilla
