#include "inventory/ssh_config.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace flotilla {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Splits "Key value", "Key=value" and quoted values into words.
std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false, any = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
      continue;
    }
    if (!quoted && !any && c == '#') break;  // a comment, as OpenSSH's argv_split reads it
    if (!quoted && (std::isspace(static_cast<unsigned char>(c)) || (c == '=' && out.empty()))) {
      if (any) out.push_back(current);
      current.clear();
      any = false;
      continue;
    }
    current += c;
    any = true;
  }
  if (any) out.push_back(current);
  return out;
}

std::string expand_tokens(const std::string& value, const std::string& host,
                          const std::string& user) {
  const char* home_env = std::getenv("HOME");
  std::string home = home_env != nullptr ? home_env : "";
  std::string out;
  if (value.starts_with("~/")) {
    out = home;
    out += value.substr(1);
  } else {
    out = value;
  }
  std::string result;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '%' && i + 1 < out.size()) {
      char t = out[++i];
      if (t == 'h') {
        result += host;
      } else if (t == 'u' || t == 'r') {
        result += user;
      } else if (t == 'd') {
        result += home;
      } else if (t == '%') {
        result += '%';
      } else {
        result += '%';
        result += t;
      }
    } else {
      result += out[i];
    }
  }
  return result;
}

}  // namespace

namespace {

// OpenSSH's match_pattern: `*` and `?` only, case-sensitive.
bool glob_matches(std::string_view pattern, std::string_view text) {
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    for (std::size_t i = 0; i <= text.size(); ++i) {
      if (glob_matches(pattern.substr(1), text.substr(i))) return true;
    }
    return false;
  }
  if (text.empty()) return false;
  return (pattern[0] == '?' || pattern[0] == text[0]) &&
         glob_matches(pattern.substr(1), text.substr(1));
}

// A comma-separated pattern list (Match's form): any matches, a negation vetoes.
bool list_matches(const std::string& list, const std::string& text) {
  std::vector<std::string> patterns;
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t end = std::min(list.find(',', start), list.size());
    patterns.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  return ssh_host_matches(patterns, text);
}

}  // namespace

bool ssh_host_matches(const std::vector<std::string>& patterns, const std::string& host) {
  bool matched = false;
  for (const auto& p : patterns) {
    bool negated = !p.empty() && p[0] == '!';
    std::string glob = negated ? p.substr(1) : p;
    if (glob_matches(glob, host)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

Result<SshConfig> SshConfig::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return SshConfig{};
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

Result<SshConfig> SshConfig::parse(const std::string& text, const std::string& path) {
  SshConfig config;
  config.blocks_.push_back(Block{{"*"}, {}, false, {}, ""});
  std::istringstream in(text);
  std::string line;
  int number = 0;
  bool skipping = false;  // inside a Match block
  while (std::getline(in, line)) {
    ++number;
    auto w = words(line);
    if (w.empty() || w[0][0] == '#') continue;
    std::string key = lower(w[0]);
    int column = static_cast<int>(line.find_first_not_of(" \t")) + 1;
    if (key == "host") {
      skipping = false;
      config.blocks_.push_back(Block{{w.begin() + 1, w.end()}, {}, false, {}, ""});
      continue;
    }
    if (key == "match") {
      skipping = true;
      Block block{{}, {}, true, {}, ""};
      for (std::size_t i = 1; i < w.size(); ++i) {
        std::string criterion = lower(w[i]);
        if (criterion == "exec") {
          block.exec_where = located(path, {number, column}, "");
          block.exec_where.resize(block.exec_where.size() - 2);  // "FILE:LINE:COL"
          break;
        }
        if (criterion == "all" || criterion == "canonical" || criterion == "final") continue;
        if (i + 1 < w.size()) {
          block.before_exec.emplace_back(criterion, w[i + 1]);
          ++i;
        }
      }
      config.blocks_.push_back(std::move(block));
      if (config.blocks_.back().exec_where.empty()) {
        config.warnings_.push_back(
            located(path, {number, column}, "Match blocks are not supported; skipped"));
      }
      continue;
    }
    if (key == "include") {
      config.warnings_.push_back(
          located(path, {number, column}, "Include is not supported; skipped"));
      continue;
    }
    if (skipping) continue;
    if (w.size() < 2) {
      return fail(ErrorKind::kBadInput,
                  located(path, {number, column}, fmt::format("{} needs a value", w[0])));
    }
    if (key == "port") {
      char* end = nullptr;
      long port = std::strtol(w[1].c_str(), &end, 10);
      if (*end != '\0' || port < 1 || port > 65535) {
        return fail(ErrorKind::kBadInput,
                    located(path, {number, column},
                            fmt::format("Port: expected 1-65535, found '{}'", w[1])));
      }
    }
    std::string where = located(path, {number, column}, "");
    where.resize(where.size() - 2);  // "FILE:LINE:COL"
    config.blocks_.back().settings.push_back({key, w[1], where});
  }
  return config;
}

SshConfigEntry SshConfig::lookup(const std::string& host, const std::string& local_user) const {
  SshConfigEntry entry;
  bool proxy_decided = false;  // ProxyJump and ProxyCommand: the first one given wins
  for (const auto& block : blocks_) {
    if (block.match) {
      if (block.exec_where.empty() || entry.unsupported) continue;
      // The exec runs only if every criterion before it holds.
      bool runs = true;
      for (const auto& [criterion, value] : block.before_exec) {
        if (criterion == "host" || criterion == "originalhost") {
          runs = runs && list_matches(value, entry.hostname.value_or(host));
        } else if (criterion == "user") {
          runs = runs && list_matches(value, entry.user.value_or(local_user));
        } else if (criterion == "localuser") {
          runs = runs && list_matches(value, local_user);
        }
      }
      if (runs) {
        entry.unsupported = block.exec_where +
                            ": Match exec cannot be honoured: flotilla runs no local command to "
                            "choose a host's settings (use Host blocks, or --ssh-config FILE)";
      }
      continue;
    }
    if (!ssh_host_matches(block.patterns, host)) continue;
    for (const auto& s : block.settings) {
      if ((s.key == "proxyjump" || s.key == "proxycommand") && !proxy_decided) {
        proxy_decided = true;
        if (s.key == "proxycommand" && lower(s.value) != "none" && !entry.unsupported) {
          entry.unsupported = s.where +
                              ": ProxyCommand cannot be honoured: flotilla makes its own "
                              "connections (use ProxyJump, or ProxyCommand none for this host)";
        }
      }
      if (s.key == "hostname" && !entry.hostname) {
        entry.hostname = expand_tokens(s.value, host, local_user);
      } else if (s.key == "user" && !entry.user) {
        entry.user = s.value;
      } else if (s.key == "port" && !entry.port) {
        entry.port = std::stoi(s.value);
      } else if (s.key == "identityfile") {
        std::string file = expand_tokens(s.value, host, local_user);
        if (std::find(entry.identity_files.begin(), entry.identity_files.end(), file) ==
            entry.identity_files.end()) {
          entry.identity_files.push_back(file);
        }
      } else if (s.key == "proxyjump" && !entry.proxy_jump && !entry.unsupported) {
        entry.proxy_jump = s.value;
      }
    }
  }
  return entry;
}

}  // namespace flotilla
