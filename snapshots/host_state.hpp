#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/transport.hpp"
#include "snapshots/host_layout.hpp"

namespace flotilla {

// What a host says it runs (`.flotilla/state.json`); the host is the source
// of truth, so every controller reads the same fleet.
struct HostState {
  std::optional<std::string> release;  // artifact id now behind `current`
  std::string commit;
  std::string branch;
  std::string since;     // ISO time of the switch
  bool stopped = false;  // its supervised process is not running (it died, or was killed)
  nlohmann::json raw = nlohmann::json::object();
};

// One round trip that reads a host's state and which of `sha256s` its
// content store lacks (the list travels on stdin).
RemoteCommand survey_command(const HostLayout& layout, const std::set<std::string>& sha256s);

struct Survey {
  HostState state;
  std::vector<std::string> missing;  // sha256s the host must be sent
};

// Parses survey_command's output; a malformed state file is an error that
// names the host's file.
Result<Survey> parse_survey(const std::string& output, const HostLayout& layout);

}  // namespace flotilla
