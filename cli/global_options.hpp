#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace flotilla {

// Options every command accepts (DESIGN.md, "Global options").
struct GlobalOptions {
  std::string file;         // -f: project file
  std::string env;          // -e: environment
  std::string inventory;    // -i: inventory instead of the environment's
  std::string limit;        // -l: host pattern
  std::string known_hosts;  // --known-hosts
  bool accept_new_host_keys = false;
  std::string connect_timeout;                    // overrides ssh.connect_timeout
  std::string ssh_config;                         // --ssh-config FILE, or "none"
  std::vector<std::string> vault_password_files;  // --vault-password-file
  std::vector<std::string> vault_ids;             // --vault-id [LABEL@]FILE
  std::string signing_key;                        // --signing-key
  bool json = false;
  long forks = 0;  // 0: project's ssh.forks
  bool no_pacing = false;
  int verbose = 0;
  bool quiet = false;
  bool no_color = false;
  bool yes = false;
};

// A parsed command, run after CLI11 has finished; `main` alone turns what it
// returns into an exit code.
using CommandAction = std::function<Result<Outcome>()>;

}  // namespace flotilla
