#include "inventory/host_address.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace flotilla {

SshDefaults SshDefaults::from_environment() {
  SshDefaults defaults;
  const char* user = std::getenv("USER");
  if (user == nullptr || *user == '\0') {
    if (passwd* pw = ::getpwuid(::getuid())) user = pw->pw_name;
  }
  defaults.user = user != nullptr ? user : "root";
  const char* home = std::getenv("HOME");
  std::string dir = std::string(home != nullptr ? home : "") + "/.ssh/";
  for (const char* name : {"id_ed25519", "id_ecdsa", "id_rsa"}) {
    if (std::filesystem::exists(dir + name)) defaults.identity_files.push_back(dir + name);
  }
  return defaults;
}

HostAddress host_address(const Inventory& inventory, std::size_t host,
                         const SshDefaults& defaults) {
  nlohmann::json vars = inventory.resolved_vars(host);
  HostAddress address;
  address.name = inventory.hosts()[host].name;
  address.address = address.name;
  address.user = defaults.user;
  address.identity_files = defaults.identity_files;
  // Values were validated when the inventory was read.
  if (auto it = vars.find("ansible_host"); it != vars.end() && it->is_string()) {
    address.address = it->get<std::string>();
  }
  if (auto it = vars.find("ansible_port"); it != vars.end()) {
    address.port = it->is_number() ? it->get<int>() : std::stoi(it->get<std::string>());
  }
  if (auto it = vars.find("ansible_user"); it != vars.end() && it->is_string()) {
    address.user = it->get<std::string>();
  }
  if (auto it = vars.find("ansible_ssh_private_key_file"); it != vars.end() && it->is_string()) {
    std::string path = it->get<std::string>();
    if (path.starts_with("~/")) {
      const char* home = std::getenv("HOME");
      path = std::string(home != nullptr ? home : "") + path.substr(1);
    }
    address.identity_files = {path};
  }
  return address;
}

}  // namespace flotilla
