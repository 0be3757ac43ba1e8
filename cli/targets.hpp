#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/global_options.hpp"
#include "core/reporter.hpp"
#include "inventory/ansible_yaml_inventory.hpp"
#include "playbooks/change/targets.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

// The project file and the chosen environment (-e, or the only one).
// `environment` points into `project`: re-find it after moving the project.
struct ProjectEnvironment {
  Project project;
  const Environment* environment = nullptr;
};
Result<ProjectEnvironment> load_project_environment(const GlobalOptions& options);

// The vault passwords the options name (--vault-password-file, --vault-id),
// else $ANSIBLE_VAULT_PASSWORD_FILE's; none when neither is given.
Result<std::vector<VaultSecret>> vault_secrets(const GlobalOptions& options);

// `[ENV] UNIT` positionals: the unit, with `options.env` set from ENV when
// given (kBadInput when it and -e disagree).
Result<std::string> environment_and_unit(GlobalOptions& options,
                                         const std::vector<std::string>& names,
                                         const std::string& command);

// Loads project file and inventory as the global options say; reports the
// inventory's warnings. `need_project`: commands that need units.
Result<Targets> load_targets(const GlobalOptions& options, Reporter& reporter, bool need_project);

}  // namespace flotilla
