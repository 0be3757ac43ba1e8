#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/artifact.hpp"
#include "core/transport.hpp"
#include "playbooks/project.hpp"
#include "snapshots/host_layout.hpp"

namespace flotilla {

// Expands {{name}} in a unit's command: host variables and host, release,
// deploy_to — each shell-quoted — and {{pid}}, the supervised process id as
// read on the host. An unknown name is an error (kBadInput), not "".
Result<std::string> expand_command(const std::string& text,
                                   const std::map<std::string, std::string>& vars,
                                   const HostLayout& layout);

// Step 1 of a push: the bundle (make_push_bundle) arrives on stdin, each file
// is checked against the sha256 it is named by, then moved into the store.
RemoteCommand receive_command(const HostLayout& layout, std::string bundle, bool gzipped);

// Step 2: builds releases/<id> from the store (hard links; executables are
// copied so modes never leak between releases), checks every file against
// the manifest, and renames it into place. Idempotent; never touches `current`.
RemoteCommand assemble_command(const HostLayout& layout, const Manifest& manifest);

// Drain, stop, switch `current` atomically (symlink + rename), start, health
// check, then record `state` (stdin) as .flotilla/state.json. The unit's hooks
// run around each step. Exit 70: the health check failed; 66: the release is
// not on the host. `release` empty: stop and remove `current` (a host that ran
// nothing before).
Result<RemoteCommand> activate_command(const Unit& unit, const HostLayout& layout,
                                       const std::string& release,
                                       const std::map<std::string, std::string>& vars,
                                       const nlohmann::json& state);

}  // namespace flotilla
