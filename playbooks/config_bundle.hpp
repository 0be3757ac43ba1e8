#pragma once

#include <map>
#include <string>

#include "core/error.hpp"
#include "core/transport.hpp"
#include "playbooks/project.hpp"
#include "snapshots/host_layout.hpp"

namespace flotilla {

// A unit's config and data files (events, campaigns, feature flags) as one
// versioned value. Hosts keep each version in .flotilla/configs/<digest>/
// and `shared/config` is a symlink to one of them, so a config push and its
// rollback are each one atomic rename.
struct ConfigBundle {
  std::string digest;                        // config_digest(files)
  std::map<std::string, std::string> files;  // file name -> content
};

// sha256 of the `sha256sum` listing of the files sorted by name — what a
// host recomputes to verify what it received.
std::string config_digest(const std::map<std::string, std::string>& files);

// Reads the files the unit's `config.files` globs name (relative to the
// project file). kBadInput when a pattern matches nothing, when two files
// share a name, or for a name a host could not keep safely.
Result<ConfigBundle> read_config_files(const Project& project, const Unit& unit);

// The controller keeps every version it pushed (STATE_DIR/configs/<digest>/),
// so a rollback can re-push one a host has pruned.
Result<void> save_config(const Project& project, const ConfigBundle& bundle);
Result<ConfigBundle> load_config(const Project& project, const std::string& digest);

// Receives the bundle (a tar on stdin) into .flotilla/configs/<digest>,
// verified against the digest before the rename. Idempotent.
RemoteCommand config_receive_command(const HostLayout& layout, const ConfigBundle& bundle);

}  // namespace flotilla
