#include "inventory/ssh_config.hpp"

#include <arpa/inet.h>
#include <glob.h>
#include <netdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include <openssl/sha.h>
#include "core/local_command.hpp"

namespace flotilla {
namespace {

constexpr int kMaxIncludeDepth = 16;  // OpenSSH's READCONF_MAX_DEPTH
// ssh waits for ever; a deploy must not hang on a stuck agent.
constexpr std::chrono::seconds kMatchExecTimeout{10};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string home_dir() {
  const char* home = std::getenv("HOME");
  return home != nullptr ? home : "";
}

// Splits "Key value", "Key=value", "Key = value" and quoted values into
// words (OpenSSH's strdelim: one '=' may separate the key from its value).
std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::string current;
  bool quoted = false, any = false, equals_seen = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
      continue;
    }
    if (!quoted && !any && c == '#') break;  // a comment, as OpenSSH's argv_split reads it
    bool key_separator =
        c == '=' && !equals_seen && (out.empty() ? any : (out.size() == 1 && !any));
    if (key_separator) equals_seen = true;
    if (!quoted && (std::isspace(static_cast<unsigned char>(c)) || key_separator)) {
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

std::string where_of(const std::string& path, int line, int column) {
  return fmt::format("{}:{}:{}", path, line, column);
}

// OpenSSH's match_pattern: `*` and `?` only; `fold` compares case-insensitively.
bool glob_matches(std::string_view pattern, std::string_view text, bool fold = false) {
  auto same = [fold](char a, char b) {
    return fold ? std::tolower(static_cast<unsigned char>(a)) ==
                      std::tolower(static_cast<unsigned char>(b))
                : a == b;
  };
  if (pattern.empty()) return text.empty();
  if (pattern[0] == '*') {
    for (std::size_t i = 0; i <= text.size(); ++i) {
      if (glob_matches(pattern.substr(1), text.substr(i), fold)) return true;
    }
    return false;
  }
  if (text.empty()) return false;
  return (pattern[0] == '?' || same(pattern[0], text[0])) &&
         glob_matches(pattern.substr(1), text.substr(1), fold);
}

// OpenSSH's match_pattern_list: comma-separated, any matches, a negation vetoes.
bool list_matches(const std::string& list, const std::string& text, bool fold) {
  bool matched = false;
  for (std::size_t start = 0; start <= list.size();) {
    std::size_t end = std::min(list.find(',', start), list.size());
    std::string_view p(list.data() + start, end - start);
    start = end + 1;
    bool negated = !p.empty() && p[0] == '!';
    if (negated) p.remove_prefix(1);
    if (glob_matches(p, text, fold)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

// `%x` tokens from `tokens` (and `%%`); an unknown token is kept as written.
std::string expand_tokens(const std::string& value,
                          const std::vector<std::pair<char, std::string>>& tokens) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '%' || i + 1 >= value.size()) {
      out += value[i];
      continue;
    }
    char t = value[++i];
    if (t == '%') {
      out += '%';
      continue;
    }
    auto it =
        std::find_if(tokens.begin(), tokens.end(), [t](const auto& p) { return p.first == t; });
    if (it != tokens.end()) {
      out += it->second;
    } else {
      out += '%';
      out += t;
    }
  }
  return out;
}

// `${NAME}` from the environment; nullopt when one is unset (OpenSSH then
// ignores the setting).
std::optional<std::string> expand_environment(const std::string& value) {
  std::string out;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value.compare(i, 2, "${") == 0) {
      std::size_t close = value.find('}', i + 2);
      if (close == std::string::npos) return std::nullopt;
      const char* env = std::getenv(value.substr(i + 2, close - i - 2).c_str());
      if (env == nullptr) return std::nullopt;
      out += env;
      i = close;
    } else {
      out += value[i];
    }
  }
  return out;
}

std::string tilde(const std::string& path) {
  if (path == "~" || path.starts_with("~/")) return home_dir() + path.substr(1);
  return path;
}

std::string local_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

std::string sha1_hex(const std::string& text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  std::string out;
  for (unsigned char b : digest) out += fmt::format("{:02x}", b);
  return out;
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
  if (auto parsed = parse_into(text, path, 0, config.items_, config); !parsed) {
    return tl::unexpected(parsed.error());
  }
  return config;
}

Result<SshConfig::Item> SshConfig::parse_match(const std::vector<std::string>& w,
                                               const std::string& where, SshConfig& config) {
  Item item{Item::Kind::kMatch, {}, {}, "", "", where, {}};
  int attributes = 0;
  for (std::size_t i = 1; i < w.size(); ++i) {
    Criterion c;
    c.negated = w[i][0] == '!';
    c.attribute = lower(c.negated ? w[i].substr(1) : w[i]);
    if (c.attribute == "all") {
      if (attributes > 1 || i + 1 < w.size()) {
        return fail(
            ErrorKind::kBadInput,
            fmt::format("Match: '{}' cannot be combined with other Match attributes", w[i]));
      }
      item.criteria.push_back(c);
      continue;
    }
    ++attributes;
    if (c.attribute == "canonical" || c.attribute == "final") {
      if (c.attribute == "final") config.final_pass_ = true;
      item.criteria.push_back(c);
      continue;
    }
    if (c.attribute != "host" && c.attribute != "originalhost" && c.attribute != "user" &&
        c.attribute != "localuser" && c.attribute != "exec") {
      return fail(ErrorKind::kBadInput, fmt::format("Match: unsupported attribute '{}'", w[i]));
    }
    if (i + 1 >= w.size()) {
      return fail(ErrorKind::kBadInput, fmt::format("Match: missing criteria for {}", c.attribute));
    }
    c.argument = w[++i];
    item.criteria.push_back(c);
  }
  if (item.criteria.empty()) {
    return fail(ErrorKind::kBadInput, "Match: one or more attributes required");
  }
  return item;
}

Result<SshConfig::Item> SshConfig::parse_include(const std::vector<std::string>& w,
                                                 const std::string& where, int depth,
                                                 SshConfig& config) {
  Item item{Item::Kind::kInclude, {}, {}, "", "", where, {}};
  for (std::size_t i = 1; i < w.size(); ++i) {
    std::string pattern = tilde(w[i]);
    if (!pattern.starts_with("/")) pattern = home_dir() + "/.ssh/" + pattern;
    glob_t found{};
    int rc = ::glob(pattern.c_str(), 0, nullptr, &found);
    std::vector<std::string> paths;
    if (rc == 0) paths.assign(found.gl_pathv, found.gl_pathv + found.gl_pathc);
    ::globfree(&found);
    if (rc != 0 && rc != GLOB_NOMATCH) {
      return fail(ErrorKind::kBadInput, fmt::format("Include: cannot expand {}", pattern));
    }
    for (const auto& file : paths) {  // glob(3) returns them sorted
      struct stat st {};
      if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (depth + 1 > kMaxIncludeDepth) {
        return fail(
            ErrorKind::kBadInput,
            fmt::format("Include: more than {} levels of includes (a loop?)", kMaxIncludeDepth));
      }
      std::ifstream included(file);
      if (!included) continue;
      std::ostringstream body;
      body << included.rdbuf();
      std::vector<Item> file_items;
      // An error inside an included file names that file's own line.
      if (auto parsed = parse_into(body.str(), file, depth + 1, file_items, config); !parsed) {
        return tl::unexpected(parsed.error());
      }
      item.files.push_back(std::move(file_items));
    }
  }
  return item;
}

namespace {

// A number or a service name, as OpenSSH's a2port reads it; 0 when neither.
long port_number(const std::string& text) {
  char* end = nullptr;
  long port = std::strtol(text.c_str(), &end, 10);
  if (*end != '\0') {
    const servent* service = ::getservbyname(text.c_str(), "tcp");
    port = service != nullptr ? ntohs(static_cast<std::uint16_t>(service->s_port)) : -1;
  }
  return port < 1 || port > 65535 ? 0 : port;
}

}  // namespace

Result<void> SshConfig::parse_into(const std::string& text, const std::string& path, int depth,
                                   std::vector<Item>& items, SshConfig& config) {
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    auto w = words(line);
    if (w.empty() || w[0][0] == '#') continue;
    std::string key = lower(w[0]);
    int column = static_cast<int>(line.find_first_not_of(" \t")) + 1;
    std::string where = where_of(path, number, column);
    auto bad = [&](const std::string& why) {
      return fail(ErrorKind::kBadInput, located(path, {number, column}, why));
    };
    if (key == "host") {
      items.push_back(Item{Item::Kind::kHost, {w.begin() + 1, w.end()}, {}, "", "", where, {}});
      continue;
    }
    if (key == "match") {
      auto item = parse_match(w, where, config);
      if (!item) return bad(item.error().message);
      items.push_back(std::move(*item));
      continue;
    }
    if (w.size() < 2) return bad(fmt::format("{} needs a value", w[0]));
    if (key == "include") {
      auto item = parse_include(w, where, depth, config);
      if (!item) {
        // Errors from an included file already say where they are.
        if (item.error().message.starts_with("Include:")) return bad(item.error().message);
        return tl::unexpected(item.error());
      }
      items.push_back(std::move(*item));
      continue;
    }
    if (key == "port") {
      long port = port_number(w[1]);
      if (port == 0) {
        return bad(fmt::format("Port: expected 1-65535 or a service name, found '{}'", w[1]));
      }
      w[1] = std::to_string(port);
    }
    items.push_back(Item{Item::Kind::kSetting, {}, {}, key, w[1], where, {}});
  }
  return {};
}

namespace {

// What one lookup has obtained so far (first value wins).
// ssh's percent tokens for one connection: %h the host, %n as first asked,
// %k the host key alias, %p, %r, and the local %u, %d, %i, %l, %L, %C.
std::vector<std::pair<char, std::string>> connection_tokens(
    const std::string& host, const std::string& original, const std::string& key_alias,
    const std::string& port, const std::string& user, const std::string& local_user) {
  std::string local = local_hostname();
  return {{'h', host},
          {'n', original},
          {'p', port},
          {'r', user},
          {'u', local_user},
          {'d', home_dir()},
          {'i', std::to_string(::getuid())},
          {'k', key_alias},
          {'l', local},
          {'L', local.substr(0, local.find('.'))},
          {'C', sha1_hex(local + host + port + user)}};
}

struct Obtained {
  std::optional<std::string> hostname;  // as written (%h not yet expanded)
  std::optional<std::string> user;
  std::optional<int> port;
  std::vector<std::string> identity_files;  // as written
  std::optional<std::string> proxy;         // ProxyJump value, once decided
  bool proxy_decided = false;
  std::optional<std::string> canonicalize;
  std::string canonicalize_where;
  std::optional<std::string> canonical_domains;  // the first CanonicalDomains line
  std::optional<int> canonicalize_max_dots;
  std::optional<std::string> unsupported;
};

struct Pass {
  const SshQuery& query;
  std::string host;  // what Host lines match: the host asked, then the HostName
  bool post_canon = false;
  Obtained& got;

  std::string match_host() const {
    if (post_canon) return host;
    if (got.hostname) return expand_tokens(*got.hostname, {{'h', query.host}});
    return query.host;
  }

  bool matches(const SshConfig::Item& item) {
    bool result = true;
    for (const auto& c : item.criteria) {
      if (c.attribute == "all") return c.negated ? false : result;
      bool r = true;
      if (c.attribute == "canonical" || c.attribute == "final") {
        r = post_canon;
      } else if (c.attribute == "host") {
        r = list_matches(c.argument, match_host(), true);
      } else if (c.attribute == "originalhost") {
        r = list_matches(c.argument, query.host, true);
      } else if (c.attribute == "user") {
        r = list_matches(c.argument, got.user.value_or(query.local_user), false);
      } else if (c.attribute == "localuser") {
        r = list_matches(c.argument, query.local_user, false);
      } else if (c.attribute == "exec") {
        if (!result) continue;  // ssh skips the command once a criterion failed
        r = run_exec(c.argument, item.where);
      }
      if (r == c.negated) result = false;
    }
    return result;
  }

  // As ssh's match_cfg_line: the command with its tokens, run in the
  // user's shell; exit 0 matches. One that cannot run, or runs past the
  // timeout, refuses the host rather than guessing.
  bool run_exec(const std::string& command, const std::string& where) {
    std::string port = std::to_string(got.port.value_or(22));
    std::string user = got.user.value_or(query.local_user);
    std::string matched = match_host();
    // %k is the host being matched here (ssh's keyalias at this point).
    std::string expanded = expand_tokens(
        command, connection_tokens(matched, query.host, matched, port, user, query.local_user));
    auto status = run_shell_condition(expanded, kMatchExecTimeout);
    if (!status) {
      if (!got.unsupported) {
        got.unsupported =
            fmt::format("{}: Match exec \"{}\": {}", where, expanded, status.error().message);
      }
      return false;
    }
    return *status == 0;
  }

  void apply(const SshConfig::Item& s) {
    if (s.key == "hostname" && !got.hostname) {
      got.hostname = s.value;
    } else if (s.key == "user" && !got.user) {
      got.user = s.value;
    } else if (s.key == "port" && !got.port) {
      got.port = std::stoi(s.value);
    } else if (s.key == "identityfile") {
      got.identity_files.push_back(s.value);
    } else if ((s.key == "proxyjump" || s.key == "proxycommand") && !got.proxy_decided) {
      got.proxy_decided = true;
      if (s.key == "proxyjump") {
        got.proxy = s.value;
      } else if (lower(s.value) != "none" && !got.unsupported) {
        got.unsupported = s.where +
                          ": ProxyCommand cannot be honoured: flotilla makes its own "
                          "connections (use ProxyJump, or ProxyCommand none for this host)";
      }
    } else if (s.key == "canonicalizehostname" && !got.canonicalize) {
      got.canonicalize = lower(s.value);
      got.canonicalize_where = s.where;
    } else if (s.key == "canonicaldomains" && !got.canonical_domains) {
      got.canonical_domains = lower(s.value);
    } else if (s.key == "canonicalizemaxdots" && !got.canonicalize_max_dots) {
      got.canonicalize_max_dots = std::atoi(s.value.c_str());
    }
  }

  void walk(const std::vector<SshConfig::Item>& items) {
    bool active = true;
    for (const auto& item : items) {
      switch (item.kind) {
        case SshConfig::Item::Kind::kHost:
          active = ssh_host_matches(item.patterns, host);
          break;
        case SshConfig::Item::Kind::kMatch:
          active = matches(item);
          break;
        case SshConfig::Item::Kind::kSetting:
          if (active) apply(item);
          break;
        case SshConfig::Item::Kind::kInclude:
          // Each file starts where the Include stands; its Host and Match
          // lines do not leak back into this file.
          if (active) {
            for (const auto& file : item.files) walk(file);
          }
          break;
      }
    }
  }
};

bool is_address(const std::string& name) {
  unsigned char buffer[sizeof(in6_addr)];
  return ::inet_pton(AF_INET, name.c_str(), buffer) == 1 ||
         ::inet_pton(AF_INET6, name.c_str(), buffer) == 1;
}

// Whether ssh would look `hostname` up under CanonicalDomains (ssh.c's
// resolve_canonicalize): never through a proxy unless "always", never an
// address, never a name with more dots than CanonicalizeMaxDots (1).
bool searches_domains(const Obtained& got, const std::string& hostname) {
  if (!got.canonical_domains || *got.canonical_domains == "none") return false;
  bool proxied = got.proxy && lower(*got.proxy) != "none";
  if (proxied && *got.canonicalize != "always") return false;
  if (is_address(hostname)) return false;
  if (hostname.ends_with('.')) return true;  // resolved as written, then the dot dropped
  auto dots = std::count(hostname.begin(), hostname.end(), '.');
  return dots <= got.canonicalize_max_dots.value_or(1);
}

}  // namespace

SshConfigEntry SshConfig::lookup(const SshQuery& query) const {
  Obtained got;
  got.user = query.user;  // command-line options are obtained first
  got.port = query.port;
  Pass first{query, query.host, false, got};
  first.walk(items_);
  // ssh lowercases the name it connects to (and matches the final pass against).
  std::string hostname =
      lower(got.hostname ? expand_tokens(*got.hostname, {{'h', query.host}}) : query.host);
  bool canonicalize =
      got.canonicalize &&
      (*got.canonicalize == "yes" || *got.canonicalize == "true" || *got.canonicalize == "always");
  bool would_search_domains = canonicalize && searches_domains(got, hostname);
  if (final_pass_ || canonicalize) {
    // ssh re-reads its config with the HostName as the host (Match final,
    // canonical); values already obtained stay.
    got.hostname = hostname;
    Pass second{query, hostname, true, got};
    second.walk(items_);
  }
  if (would_search_domains && !got.unsupported) {
    got.unsupported = got.canonicalize_where +
                      ": CanonicalizeHostname cannot be honoured for this host: flotilla does "
                      "not search CanonicalDomains (write the full name as HostName)";
  }

  SshConfigEntry entry;
  entry.unsupported = got.unsupported;
  entry.hostname = hostname;
  entry.port = got.port;
  entry.user = got.user;
  std::string user = got.user.value_or(query.local_user);
  std::string port = std::to_string(got.port.value_or(22));
  auto tokens = connection_tokens(hostname, query.host, query.host, port, user, query.local_user);
  for (const auto& raw : got.identity_files) {
    auto with_env = expand_environment(raw);
    if (!with_env) continue;  // an unset ${VAR}: OpenSSH ignores the setting
    std::string file = expand_tokens(tilde(*with_env), tokens);
    if (std::find(entry.identity_files.begin(), entry.identity_files.end(), file) ==
        entry.identity_files.end()) {
      entry.identity_files.push_back(file);
    }
  }
  if (got.proxy) {
    entry.proxy_jump =
        lower(*got.proxy) == "none"
            ? std::string("none")
            : expand_tokens(*got.proxy,
                            {{'h', hostname}, {'n', query.host}, {'p', port}, {'r', user}});
  }
  return entry;
}

}  // namespace flotilla
