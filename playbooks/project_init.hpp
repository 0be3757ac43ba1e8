#pragma once

#include <string>
#include <vector>

#include "core/error.hpp"
#include "inventory/inventory.hpp"

namespace flotilla {

// `flotilla init`: a first flotilla.yaml guessed from the Ansible
// inventories a studio already has. Every guess is written as a comment the
// user can check; nothing here touches a file.

// One environment: an inventory source (file or directory) and its name.
struct InitEnvironment {
  std::string name;       // "prod", from the file name
  std::string inventory;  // as written in flotilla.yaml, relative to it
  const Inventory* hosts = nullptr;
};

// Which of the studio's steps a name says an environment is: dev (any
// branch), int (release/* and master), prod (master and stable).
enum class EnvironmentStage { kDev, kInt, kProd };
EnvironmentStage stage_of(const std::string& environment_name);

// The environment name an inventory file or directory's name gives:
// "inventories/prod.yaml" -> "prod", "production" -> "production"; a
// generic name ("hosts", "inventory") gives "prod".
std::string environment_name_of(const std::string& path);

// The host variable that looks like a redundant pair's key (flotilla_pair,
// pair, redundancy_group, ...), if any host has one.
std::string guess_pair_key(const std::vector<InitEnvironment>& environments);

// The group to deploy the unit to: the first group of the first
// environment that is not `all`, `ungrouped` or named like an environment.
std::string guess_unit_hosts(const std::vector<InitEnvironment>& environments);

// The commented flotilla.yaml for these environments (at least one).
std::string initial_project_text(const std::vector<InitEnvironment>& environments);

// The inventories in `dir`, as a studio keeps them: each entry of
// inventories/ (one per environment), else ansible.cfg's `inventory =`,
// else the first of inventory, hosts (.yml, .yaml, .ini). Paths are relative
// to `dir`. kBadInput when there is none.
Result<std::vector<std::string>> find_inventories(const std::string& dir);

// Writes `text` to `path` only if no file is there (O_EXCL): init never
// overwrites. kBadInput naming the file when one is.
Result<void> write_new_file(const std::string& path, const std::string& text);

// Copies the example project `name` from `examples_dir` into `dir`. Checks
// every destination first: when any exists, nothing is copied (kBadInput
// naming it). Returns the files written.
Result<std::vector<std::string>> copy_example(const std::string& examples_dir,
                                              const std::string& name, const std::string& dir);

}  // namespace flotilla
