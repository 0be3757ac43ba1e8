#pragma once

#include <string>

namespace flotilla {

// Where a unit lives on a host (DESIGN.md, "On each host"). The host is the
// source of truth, so every command that reads or writes a host uses these.
struct HostLayout {
  std::string deploy_to;  // e.g. /srv/reward

  std::string releases() const { return deploy_to + "/releases"; }
  std::string release(const std::string& id) const { return releases() + "/" + id; }
  std::string current() const { return deploy_to + "/current"; }
  std::string shared() const { return deploy_to + "/shared"; }
  // Secret versions (0700), one directory per digest; `shared/secrets`
  // links to the current one. Outside .flotilla/, which holds no secret.
  std::string secret_versions() const { return shared() + "/.secrets"; }
  std::string log_dir() const { return shared() + "/log"; }
  std::string state_dir() const { return deploy_to + "/.flotilla"; }
  std::string state_file() const { return state_dir() + "/state.json"; }
  // Files of every release, by sha256: pushes send only what is missing.
  std::string store() const { return state_dir() + "/store"; }
};

}  // namespace flotilla
