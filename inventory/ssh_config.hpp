#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/source_mark.hpp"

namespace flotilla {

// What ssh would be asked: the host as given on its command line (Ansible's
// ansible_host, else the inventory name) and the options Ansible passes with
// -o (ansible_user, ansible_port), which win over the config as command-line
// options do.
struct SshQuery {
  std::string host;
  std::string local_user;
  std::optional<std::string> user;
  std::optional<int> port;
};

// What the config says about one host, tokens expanded.
struct SshConfigEntry {
  std::optional<std::string> hostname;  // HostName, else the host; lowercased as ssh does
  std::optional<std::string> user;
  std::optional<int> port;
  std::vector<std::string> identity_files;  // in order, repeats dropped
  std::optional<std::string> proxy_jump;    // "[user@]host[:port][,...]", or "none"
  // A directive that applies to this host and that flotilla cannot honour
  // (ProxyCommand, CanonicalizeHostname where ssh would search
  // CanonicalDomains, a Match exec that cannot run or runs past 10s):
  // "FILE:LINE:COL: why".
  // Connecting is refused.
  std::optional<std::string> unsupported;
};

// ssh_config(5) as OpenSSH 9 evaluates it, for the keys that decide where and
// as whom flotilla connects (HostName, User, Port, IdentityFile, ProxyJump;
// other keys change nothing flotilla does and are read past):
// - one pass through the file in order, first obtained value wins
//   (IdentityFile accumulates), `Host` patterns (`*`, `?`, `!negation`;
//   case-sensitive, `[` literal; a `#` word ends the line);
// - `Match` with all, host, originalhost, user, localuser, canonical and
//   final (negated with `!`), and a second pass when a `Match final` asks
//   for one, with Host lines matched against the HostName, as ssh does;
// - `Include` (globs, `~`, relative to ~/.ssh; 16 levels), read where it
//   stands and only when its block applies;
// - tokens: %h and %% in HostName; %%, %C, %d, %h, %i, %k, %L, %l, %n, %p, %r,
//   %u and ${ENV} in IdentityFile; %%, %h, %n, %p, %r in ProxyJump.
// - `Match exec` runs its command as ssh does (its tokens, $SHELL -c, only
//   where the line's earlier criteria matched), with a 10s limit.
// ProxyCommand, and CanonicalizeHostname where ssh would search
// CanonicalDomains, make the entry `unsupported`, never silently skipped.
class SshConfig {
 public:
  // A missing file is an empty config; a malformed line is kBadInput with FILE:LINE:COL.
  static Result<SshConfig> load(const std::string& path);
  static Result<SshConfig> parse(const std::string& text, const std::string& path);

  SshConfigEntry lookup(const SshQuery& query) const;
  SshConfigEntry lookup(const std::string& host, const std::string& local_user) const {
    return lookup(SshQuery{host, local_user, std::nullopt, std::nullopt});
  }
  const std::vector<std::string>& warnings() const { return warnings_; }

  struct Criterion {
    bool negated = false;
    std::string attribute;  // lowercased
    std::string argument;
  };
  struct Item {
    enum class Kind { kHost, kMatch, kSetting, kInclude };
    Kind kind = Kind::kSetting;
    std::vector<std::string> patterns;     // kHost
    std::vector<Criterion> criteria;       // kMatch
    std::string key;                       // kSetting, lowercased
    std::string value;                     // kSetting: the first argument
    std::string where;                     // "FILE:LINE:COL"
    std::vector<std::vector<Item>> files;  // kInclude: each file's items, in order
  };

 private:
  static Result<void> parse_into(const std::string& text, const std::string& path, int depth,
                                 std::vector<Item>& items, SshConfig& config);
  // One `Match` line's criteria; one `Include` line's files, each parsed.
  static Result<Item> parse_match(const std::vector<std::string>& words, const std::string& where,
                                  SshConfig& config);
  static Result<Item> parse_include(const std::vector<std::string>& words, const std::string& where,
                                    int depth, SshConfig& config);

  std::vector<Item> items_;
  bool final_pass_ = false;  // a `Match final` asks for a second pass
  std::vector<std::string> warnings_;
};

// OpenSSH's Host pattern matching for one pattern list (negations veto).
bool ssh_host_matches(const std::vector<std::string>& patterns, const std::string& host);

}  // namespace flotilla
