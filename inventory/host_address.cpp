#include "inventory/host_address.hpp"

#include <pwd.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "inventory/host_validation.hpp"

namespace flotilla {
namespace {

std::string home_dir() {
  const char* home = std::getenv("HOME");
  return home != nullptr ? home : "";
}

std::string expand_home(std::string path) {
  if (path.starts_with("~/")) path = home_dir() + path.substr(1);
  return path;
}

// "[user@]host[:port]" (host may be "[v6]").
struct JumpSpec {
  std::string user;
  std::string host;
  std::optional<int> port;
};

Result<JumpSpec> parse_jump(const std::string& spec, const std::string& for_host) {
  auto bad = [&](const std::string& why) {
    return fail(ErrorKind::kBadInput,
                fmt::format("host {}: ProxyJump '{}': {}", for_host, spec, why));
  };
  JumpSpec out;
  std::string rest = spec;
  if (rest.starts_with("ssh://")) rest = rest.substr(6);
  if (auto at = rest.find('@'); at != std::string::npos) {
    out.user = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  if (rest.starts_with("[")) {
    auto close = rest.find(']');
    if (close == std::string::npos) return bad("unclosed '['");
    out.host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    if (rest.starts_with(":"))
      rest = rest.substr(1);
    else
      rest.clear();
    if (!rest.empty()) out.port = std::atoi(rest.c_str());
  } else if (auto colon = rest.find(':');
             colon != std::string::npos && rest.find(':', colon + 1) == std::string::npos) {
    out.host = rest.substr(0, colon);
    out.port = std::atoi(rest.substr(colon + 1).c_str());
  } else {
    out.host = rest;
  }
  if (auto why = check_host_name(out.host)) return bad(*why);
  if (!out.user.empty()) {
    if (auto why = check_connection_variable("ansible_user", out.user)) return bad(*why);
  }
  if (out.port && (*out.port < 1 || *out.port > 65535)) return bad("port must be 1-65535");
  return out;
}

constexpr std::size_t kMaxJumpDepth = 8;

// The bastions a ProxyJump list names, as ssh chains them: "a,b" reaches b
// through a, and the host through b; the first hop's own ProxyJump (from
// the config) comes before it. Each hop's connection comes from its own
// config entry; `fallback_keys` when the config gives it none.
Result<std::shared_ptr<const HostAddress>> jump_chain(const std::string& list,
                                                      const std::string& for_host,
                                                      const SshDefaults& defaults,
                                                      const std::vector<std::string>& fallback_keys,
                                                      std::size_t bastions) {
  std::vector<std::string> hops;
  for (std::size_t start = 0; start <= list.size();) {
    std::size_t end = std::min(list.find(',', start), list.size());
    hops.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  // Every bastion of the chain counts, from lists and from each first
  // hop's own ProxyJump alike (a loop never ends; a list of 12 is no chain).
  bastions += hops.size();
  if (bastions > kMaxJumpDepth) {
    return fail(ErrorKind::kBadInput,
                fmt::format("host {}: ProxyJump: more than {} bastions in a chain (a loop?)",
                            for_host, kMaxJumpDepth));
  }
  std::shared_ptr<const HostAddress> previous;
  for (std::size_t i = 0; i < hops.size(); ++i) {
    auto spec = parse_jump(hops[i], for_host);
    if (!spec) return tl::unexpected(spec.error());
    SshQuery query{spec->host, defaults.user,
                   spec->user.empty() ? std::nullopt : std::optional<std::string>(spec->user),
                   spec->port};
    SshConfigEntry via = defaults.config ? defaults.config->lookup(query) : SshConfigEntry{};
    if (via.unsupported) {
      return fail(ErrorKind::kBadInput, fmt::format("{} (bastion {} of host {})", *via.unsupported,
                                                    spec->host, for_host));
    }
    HostAddress bastion;
    bastion.name = spec->host;
    bastion.address = via.hostname.value_or(spec->host);
    if (auto why = check_host_name(bastion.address)) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("host {}: bastion {}: {}", for_host, spec->host, *why));
    }
    bastion.port = via.port.value_or(spec->port.value_or(22));
    bastion.user = via.user.value_or(spec->user.empty() ? defaults.user : spec->user);
    bastion.identity_files = via.identity_files.empty() ? fallback_keys : via.identity_files;
    if (i == 0) {
      if (via.proxy_jump && *via.proxy_jump != "none" && !via.proxy_jump->empty()) {
        auto before = jump_chain(*via.proxy_jump, for_host, defaults, fallback_keys, bastions);
        if (!before) return tl::unexpected(before.error());
        bastion.jump = *before;
      }
    } else {
      bastion.jump = previous;
    }
    previous = std::make_shared<const HostAddress>(std::move(bastion));
  }
  return previous;
}

}  // namespace

SshDefaults SshDefaults::from_environment() {
  SshDefaults defaults;
  const char* user = std::getenv("USER");
  if (user == nullptr || *user == '\0') {
    if (passwd* pw = ::getpwuid(::getuid())) user = pw->pw_name;
  }
  defaults.user = user != nullptr ? user : "root";
  std::string dir = home_dir() + "/.ssh/";
  for (const char* name : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
    if (std::filesystem::exists(dir + name)) defaults.identity_files.push_back(dir + name);
  }
  return defaults;
}

namespace {

// Ansible's ssh connection plugin options and the variables each reads, in
// its order (plugins/connection/ssh.py, ansible-core 2.14).
const std::pair<const char*, std::array<const char*, 2>> kConnectionNames[] = {
    {"ansible_host", {"ansible_host", "ansible_ssh_host"}},
    {"ansible_port", {"ansible_port", "ansible_ssh_port"}},
    {"ansible_user", {"ansible_user", "ansible_ssh_user"}},
    {"ansible_ssh_private_key_file", {"ansible_private_key_file", "ansible_ssh_private_key_file"}},
    {"flotilla_proxy_jump", {"flotilla_proxy_jump", nullptr}},
};

}  // namespace

Result<HostAddress> host_address(const Inventory& inventory, std::size_t host,
                                 const SshDefaults& defaults) {
  nlohmann::json vars = inventory.resolved_vars(host);
  HostAddress address;
  address.name = inventory.hosts()[host].name;
  // The connection variables, decrypted where they are vault values, and
  // checked as every inventory value is (group_vars/ and host_vars/ files too).
  // Each is read under every name Ansible's ssh plugin reads it by; as its
  // config manager does, the last name defined wins (ansible_ssh_port beats
  // ansible_port wherever each was set).
  for (const char* key : {"ansible_password", "ansible_ssh_pass", "ansible_ssh_password"}) {
    auto it = vars.find(key);
    if (it != vars.end() && !it->is_null()) {
      return fail(ErrorKind::kBadInput,
                  fmt::format("host {}: {}: flotilla signs in with keys only and never sends a "
                              "password (remove it; use ansible_ssh_private_key_file)",
                              address.name, key));
    }
  }
  std::map<std::string, std::string> connection;
  for (const auto& [key, names] : kConnectionNames) {
    const char* name = nullptr;
    for (const char* candidate : names) {
      if (candidate == nullptr) continue;
      auto it = vars.find(candidate);
      if (it != vars.end() && !it->is_null()) name = candidate;
    }
    if (name == nullptr) continue;
    auto value = inventory.reveal(vars[name]);
    if (!value) {
      return fail(ErrorKind::kBadInput, fmt::format("host {}: variable {}: {}", address.name, name,
                                                    value.error().message));
    }
    if (auto why = check_connection_variable(name, *value)) {
      return fail(ErrorKind::kBadInput, fmt::format("host {}: {}", address.name, *why));
    }
    connection[key] = value->is_string() ? value->get<std::string>() : value->dump();
  }
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto it = connection.find(key);
    if (it == connection.end()) return std::nullopt;
    return it->second;
  };
  std::string target = text("ansible_host").value_or(address.name);
  SshQuery query{target, defaults.user, text("ansible_user"), std::nullopt};
  if (auto port = text("ansible_port")) query.port = std::stoi(*port);
  SshConfigEntry entry = defaults.config ? defaults.config->lookup(query) : SshConfigEntry{};
  if (entry.unsupported) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{} (host {})", *entry.unsupported, address.name));
  }

  address.address = entry.hostname.value_or(target);
  // Command-line options (Ansible's) win, also with no config at all.
  address.port = query.port.value_or(entry.port.value_or(22));
  address.user = query.user.value_or(entry.user.value_or(defaults.user));
  // As `ssh -i KEY` (Ansible's ansible_ssh_private_key_file): that key
  // first, then the config's; the defaults only when neither names one.
  if (auto key = text("ansible_ssh_private_key_file")) {
    std::string file = expand_home(*key);
    std::erase(entry.identity_files, file);
    entry.identity_files.insert(entry.identity_files.begin(), file);
  }
  address.identity_files =
      entry.identity_files.empty() ? defaults.identity_files : entry.identity_files;

  std::optional<std::string> jump = text("flotilla_proxy_jump");
  if (!jump) jump = entry.proxy_jump;
  if (jump && *jump != "none" && !jump->empty()) {
    auto chain = jump_chain(*jump, address.name, defaults, address.identity_files, 0);
    if (!chain) return tl::unexpected(chain.error());
    address.jump = *chain;
  }
  return address;
}

}  // namespace flotilla
