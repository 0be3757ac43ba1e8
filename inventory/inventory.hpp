#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/source_mark.hpp"
#include "inventory/ansible_vault.hpp"

namespace flotilla {

struct InventoryHost {
  std::string name;
  nlohmann::json vars = nlohmann::json::object();       // defined on the host itself
  nlohmann::json file_vars = nlohmann::json::object();  // from host_vars/ beside a source
  std::vector<std::size_t> groups;                      // direct groups, in order added
  SourceMark mark;                                      // where it was first defined
};

struct InventoryGroup {
  std::string name;
  nlohmann::json vars = nlohmann::json::object();
  nlohmann::json file_vars = nlohmann::json::object();  // from group_vars/ beside a source
  int priority = 1;                                     // ansible_group_priority
  std::vector<std::size_t> hosts;                       // direct members, in order added
  std::vector<std::size_t> children;                    // child groups
  std::vector<std::size_t> parents;
  int depth = 0;  // longest path from `all`, as Ansible sorts groups
  SourceMark mark;
};

// Hosts and groups as Ansible's InventoryData holds them, with Ansible's rules
// for membership and variable precedence. Built by a parser, then `finalize`d.
class Inventory {
 public:
  static constexpr std::size_t kAll = 0;
  static constexpr std::size_t kUngrouped = 1;

  Inventory();

  std::size_t add_group(const std::string& name, SourceMark mark);
  // Returns the host index and whether it was created by this call.
  std::pair<std::size_t, bool> add_host(const std::string& name, SourceMark mark);
  void add_host_to_group(std::size_t host, std::size_t group);
  // Refuses a child that would make a cycle; returns the error text.
  std::optional<std::string> add_child(std::size_t parent, std::size_t child);
  void set_group_variable(std::size_t group, const std::string& key, nlohmann::json value);
  void set_host_variable(std::size_t host, const std::string& key, nlohmann::json value);

  // Ansible's reconcile_inventory: orphan groups join `all`, hosts in no
  // group join `ungrouped`, group depths are computed.
  void finalize();

  const std::vector<InventoryHost>& hosts() const { return hosts_; }
  const std::vector<InventoryGroup>& groups() const { return groups_; }
  std::optional<std::size_t> find_host(const std::string& name) const;
  std::optional<std::size_t> find_group(const std::string& name) const;

  // Every group the host belongs to, directly or through a child group,
  // except `all`; sorted by name (Ansible's `group_names`).
  std::vector<std::string> group_names(std::size_t host) const;
  // Hosts of a group and its descendants in Ansible's order (Group.get_hosts:
  // the group's own hosts, then its children's, level by level), each once.
  std::vector<std::size_t> hosts_in_group(std::size_t group) const;
  // Variables from group_vars/ and host_vars/ files: merged over what
  // earlier files gave (top-level keys replaced, as Ansible combines).
  void add_group_file_vars(std::size_t group, const nlohmann::json& vars);
  void add_host_file_vars(std::size_t host, const nlohmann::json& vars);

  // Ansible's precedence, later wins, whole values replaced: the inventory's
  // all < its groups by (depth, priority, name) < group_vars/all <
  // group_vars/<group> in the same order < the host's own < host_vars/<host>.
  nlohmann::json resolved_vars(std::size_t host) const;

  // The passwords that open its `!vault` values (--vault-password-file).
  void set_vault_secrets(std::vector<VaultSecret> secrets) { vault_secrets_ = std::move(secrets); }
  const std::vector<VaultSecret>& vault_secrets() const { return vault_secrets_; }
  // A variable's value for use: a `!vault` value decrypted with those
  // passwords (each distinct value once), any other as it is.
  Result<nlohmann::json> reveal(const nlohmann::json& value) const;
  // Every vault value of every host and group that these passwords open:
  // what a command redacts from everything it prints. Ones that do not
  // open are left for the command that needs them to report.
  std::vector<std::string> opened_vault_values() const;

  // {"hosts": {NAME: {"groups": [...], "vars": {...}}}, "groups": {NAME: [hosts]}}
  nlohmann::json to_json() const;

 private:
  std::vector<std::size_t> ancestors(std::size_t group) const;
  bool is_descendant(std::size_t group, std::size_t maybe_descendant) const;
  std::vector<std::size_t> host_group_closure(std::size_t host) const;

  std::vector<InventoryHost> hosts_;
  std::vector<InventoryGroup> groups_;
  std::map<std::string, std::size_t> host_index_;
  std::map<std::string, std::size_t> group_index_;
  std::vector<VaultSecret> vault_secrets_;
  mutable std::map<std::string, std::string> revealed_;  // ciphertext -> plaintext
};

}  // namespace flotilla
