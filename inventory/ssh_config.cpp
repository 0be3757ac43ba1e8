#include "inventory/ssh_config.hpp"

#include <fnmatch.h>

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

bool ssh_host_matches(const std::vector<std::string>& patterns, const std::string& host) {
  bool matched = false;
  for (const auto& p : patterns) {
    bool negated = !p.empty() && p[0] == '!';
    std::string glob = lower(negated ? p.substr(1) : p);
    if (::fnmatch(glob.c_str(), lower(host).c_str(), 0) == 0) {
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
  config.blocks_.push_back(Block{{"*"}, {}});
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
      config.blocks_.push_back(Block{{w.begin() + 1, w.end()}, {}});
      continue;
    }
    if (key == "match") {
      skipping = true;
      config.warnings_.push_back(
          located(path, {number, column}, "Match blocks are not supported; skipped"));
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
    config.blocks_.back().settings.push_back({key, w[1]});
  }
  return config;
}

SshConfigEntry SshConfig::lookup(const std::string& host, const std::string& local_user) const {
  SshConfigEntry entry;
  for (const auto& block : blocks_) {
    if (!ssh_host_matches(block.patterns, host)) continue;
    for (const auto& s : block.settings) {
      if (s.key == "hostname" && !entry.hostname) {
        entry.hostname = expand_tokens(s.value, host, local_user);
      } else if (s.key == "user" && !entry.user) {
        entry.user = s.value;
      } else if (s.key == "port" && !entry.port) {
        entry.port = std::stoi(s.value);
      } else if (s.key == "identityfile") {
        entry.identity_files.push_back(expand_tokens(s.value, host, local_user));
      } else if (s.key == "proxyjump" && !entry.proxy_jump) {
        entry.proxy_jump = s.value;
      }
    }
  }
  return entry;
}

}  // namespace flotilla
