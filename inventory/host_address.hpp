#pragma once

#include <string>
#include <vector>

#include "core/transport.hpp"
#include "inventory/inventory.hpp"

namespace flotilla {

// Connection defaults when the inventory says nothing.
struct SshDefaults {
  std::string user;                         // $USER
  std::vector<std::string> identity_files;  // ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exist
  static SshDefaults from_environment();
};

// ansible_host / ansible_port / ansible_user / ansible_ssh_private_key_file
// (Ansible's names), else the defaults.
HostAddress host_address(const Inventory& inventory, std::size_t host, const SshDefaults& defaults);

}  // namespace flotilla
