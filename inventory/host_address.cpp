#include "inventory/host_address.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>

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
  if (spec.find(',') != std::string::npos) return bad("only one bastion hop is supported");
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

Result<HostAddress> host_address(const Inventory& inventory, std::size_t host,
                                 const SshDefaults& defaults) {
  nlohmann::json vars = inventory.resolved_vars(host);
  HostAddress address;
  address.name = inventory.hosts()[host].name;
  // The connection variables, decrypted where they are vault values, and
  // checked as every inventory value is (group_vars/ and host_vars/ files too).
  std::map<std::string, std::string> connection;
  for (const char* key : {"ansible_host", "ansible_port", "ansible_user",
                          "ansible_ssh_private_key_file", "flotilla_proxy_jump"}) {
    auto it = vars.find(key);
    if (it == vars.end() || it->is_null()) continue;
    auto value = inventory.reveal(*it);
    if (!value) {
      return fail(ErrorKind::kBadInput, fmt::format("host {}: variable {}: {}", address.name, key,
                                                    value.error().message));
    }
    if (auto why = check_connection_variable(key, *value)) {
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
  SshConfigEntry entry =
      defaults.config ? defaults.config->lookup(target, defaults.user) : SshConfigEntry{};
  if (entry.unsupported) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{} (host {})", *entry.unsupported, address.name));
  }

  address.address = entry.hostname.value_or(target);
  address.port = entry.port.value_or(22);
  if (auto port = text("ansible_port")) address.port = std::stoi(*port);
  address.user = text("ansible_user").value_or(entry.user.value_or(defaults.user));
  address.identity_files =
      entry.identity_files.empty() ? defaults.identity_files : entry.identity_files;
  if (auto key = text("ansible_ssh_private_key_file")) address.identity_files = {expand_home(*key)};

  std::optional<std::string> jump = text("flotilla_proxy_jump");
  if (!jump) jump = entry.proxy_jump;
  if (jump && *jump != "none" && !jump->empty()) {
    auto spec = parse_jump(*jump, address.name);
    if (!spec) return tl::unexpected(spec.error());
    SshConfigEntry via =
        defaults.config ? defaults.config->lookup(spec->host, defaults.user) : SshConfigEntry{};
    if (via.unsupported) {
      return fail(ErrorKind::kBadInput, fmt::format("{} (bastion {} of host {})", *via.unsupported,
                                                    spec->host, address.name));
    }
    HostAddress bastion;
    bastion.name = spec->host;
    bastion.address = via.hostname.value_or(spec->host);
    bastion.port = spec->port.value_or(via.port.value_or(22));
    bastion.user = !spec->user.empty() ? spec->user : via.user.value_or(defaults.user);
    // The bastion's own IdentityFile, else the keys this host would use.
    bastion.identity_files =
        via.identity_files.empty() ? address.identity_files : via.identity_files;
    address.jump = std::make_shared<const HostAddress>(std::move(bastion));
  }
  return address;
}

}  // namespace flotilla
