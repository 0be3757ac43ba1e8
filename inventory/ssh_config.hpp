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
};

// The common subset of ssh_config(5): Host blocks with patterns (`*`, `?`,
// `!negation`), HostName (with %h), User, Port, IdentityFile (~, %h, %u, %d),
// ProxyJump. Match and Include blocks are skipped with a warning; other keys
// are ignored, as they do not change where or as whom flotilla connects.
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
  };
  struct Block {
    std::vector<std::string> patterns;  // "*" for settings before any Host line
    std::vector<Setting> settings;
  };
  std::vector<Block> blocks_;
  std::vector<std::string> warnings_;
};

// OpenSSH's Host pattern matching for one pattern list (negations veto).
bool ssh_host_matches(const std::vector<std::string>& patterns, const std::string& host);

}  // namespace flotilla
