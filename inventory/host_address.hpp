#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/transport.hpp"
#include "inventory/inventory.hpp"
#include "inventory/ssh_config.hpp"

namespace flotilla {

// Connection defaults when the inventory says nothing.
struct SshDefaults {
  std::string user;                         // the local user
  std::vector<std::string> identity_files;  // ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exist
  std::optional<SshConfig> config;          // ~/.ssh/config unless disabled
  static SshDefaults from_environment();
};

// Where and as whom to connect, as OpenSSH would with Ansible's variables on
// its command line: inventory variables (ansible_host, ansible_port,
// ansible_user, ansible_ssh_private_key_file, flotilla_proxy_jump) win over
// ~/.ssh/config (matched against ansible_host, else the inventory name),
// which wins over the defaults. kBadInput for a ProxyJump flotilla cannot
// follow (a hostile name, a chain of more than 8).
Result<HostAddress> host_address(const Inventory& inventory, std::size_t host,
                                 const SshDefaults& defaults);

}  // namespace flotilla
