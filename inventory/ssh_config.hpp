#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/source_mark.hpp"

namespace flotilla {

// What ~/.ssh/config says about one host (OpenSSH's rule: for each key, the
// first value from a matching Host block wins; IdentityFile accumulates).
struct SshConfigEntry {
  std::optional<std::string> hostname;
  std::optional<std::string> user;
  std::optional<int> port;
  std::vector<std::string> identity_files;
  std::optional<std::string> proxy_jump;  // "[user@]host[:port]", or "none"
  // A directive that applies to this host and that flotilla cannot honour
  // (ProxyCommand, Match exec): "FILE:LINE:COL: why". Connecting is refused.
  std::optional<std::string> unsupported;
};

// The common subset of ssh_config(5), matched as OpenSSH matches it: Host
// blocks with patterns (`*`, `?`, `!negation`; case-sensitive, `[` literal;
// a `#` word ends the line), HostName (with %h), User, Port, IdentityFile
// (~, %h, %u, %d; repeats dropped), ProxyJump. ProxyCommand, and Match exec
// where it would run, make the entry `unsupported` (never silently
// skipped); other Match blocks and Include are skipped with a warning;
// other keys are ignored, as they do not change where or as whom flotilla
// connects.
class SshConfig {
 public:
  // A missing file is an empty config; a malformed value is kBadInput with FILE:LINE:COL.
  static Result<SshConfig> load(const std::string& path);
  static Result<SshConfig> parse(const std::string& text, const std::string& path);

  SshConfigEntry lookup(const std::string& host, const std::string& local_user) const;
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  struct Setting {
    std::string key;  // lowercased
    std::string value;
    std::string where;  // "FILE:LINE:COL"
  };
  struct Block {
    std::vector<std::string> patterns;  // "*" for settings before any Host line
    std::vector<Setting> settings;
    bool match = false;  // a Match block: never applied
    // Match criteria before an `exec` (host, originalhost, user): the exec
    // runs, and cannot be honoured, only when they all hold.
    std::vector<std::pair<std::string, std::string>> before_exec;
    std::string exec_where;  // "" when the Match line has no exec
  };
  std::vector<Block> blocks_;
  std::vector<std::string> warnings_;
};

// OpenSSH's Host pattern matching for one pattern list (negations veto).
bool ssh_host_matches(const std::vector<std::string>& patterns, const std::string& host);

}  // namespace flotilla
