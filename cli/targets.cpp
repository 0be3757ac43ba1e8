#include "cli/targets.hpp"

#include <cstdlib>

#include <fmt/format.h>

#include "inventory/host_pattern.hpp"
#include "inventory/inventory_source.hpp"
#include "playbooks/project_file.hpp"
#include "playbooks/secret_bundle.hpp"

namespace flotilla {

Result<ProjectEnvironment> load_project_environment(const GlobalOptions& options) {
  auto path = find_project_file(options.file);
  if (!path) return tl::unexpected(path.error());
  auto project = load_project_file(*path);
  if (!project) return tl::unexpected(project.error());
  ProjectEnvironment out{std::move(*project), nullptr};
  if (out.project.environments.empty()) {
    return fail(ErrorKind::kBadInput, fmt::format("{}: no environments defined", *path));
  }
  std::string env_name = options.env;
  if (env_name.empty()) {
    if (out.project.environments.size() > 1) {
      std::vector<std::string> names;
      for (const auto& e : out.project.environments) names.push_back(e.name);
      return fail(ErrorKind::kBadInput,
                  fmt::format("choose an environment with -e ({})", fmt::join(names, ", ")));
    }
    env_name = out.project.environments.front().name;
  }
  out.environment = out.project.environment(env_name);
  if (out.environment == nullptr) {
    return fail(ErrorKind::kBadInput,
                fmt::format("unknown environment '{}' in {}", env_name, *path));
  }
  return out;
}

Result<std::vector<VaultSecret>> vault_secrets(const GlobalOptions& options) {
  std::vector<std::string> files = options.vault_password_files;
  for (const auto& id : options.vault_ids) {
    std::string file = id.substr(id.find('@') == std::string::npos ? 0 : id.find('@') + 1);
    if (file == "prompt") {
      return fail(ErrorKind::kBadInput,
                  fmt::format("--vault-id {}: flotilla never prompts; give a password file", id));
    }
    files.push_back(file);
  }
  if (files.empty()) {
    const char* env = std::getenv("ANSIBLE_VAULT_PASSWORD_FILE");
    if (env != nullptr && *env != '\0') files.emplace_back(env);
  }
  std::vector<VaultSecret> secrets;
  for (const auto& file : files) {
    auto secret = read_vault_password_file(file);
    if (!secret) return tl::unexpected(secret.error());
    secrets.push_back(std::move(*secret));
  }
  return secrets;
}

Result<Targets> load_targets(const GlobalOptions& options, Reporter& reporter, bool need_project) {
  Targets targets;
  std::string inventory_path = options.inventory;
  if (need_project || inventory_path.empty()) {
    auto loaded = load_project_environment(options);
    if (!loaded) return tl::unexpected(loaded.error());
    std::string env_name = loaded->environment->name;
    targets.project =
        std::move(loaded->project);  // re-point: the pointer was into the moved object
    targets.environment = targets.project->environment(env_name);
    if (inventory_path.empty()) inventory_path = targets.environment->inventory;
    for (const auto& value : readable_secret_values(*targets.project)) reporter.redact(value);
  }
  auto secrets = vault_secrets(options);
  if (!secrets) return tl::unexpected(secrets.error());
  for (const auto& secret : *secrets) reporter.redact(secret.password);
  auto inventory = load_inventory(inventory_path, std::move(*secrets));
  if (!inventory) return tl::unexpected(inventory.error());
  targets.inventory = std::move(*inventory);
  for (const auto& value : targets.inventory.secret_values) reporter.redact(value);
  for (const auto& value : targets.inventory.inventory.opened_vault_values()) {
    reporter.redact(value);
  }
  for (const auto& warning : targets.inventory.warnings) reporter.warning(warning);
  if (options.limit.empty()) {
    for (std::size_t h = 0; h < targets.inventory.inventory.hosts().size(); ++h) {
      targets.hosts.push_back(h);
    }
  } else {
    auto hosts = select_hosts(targets.inventory.inventory, options.limit);
    if (!hosts) return tl::unexpected(hosts.error());
    targets.hosts = std::move(*hosts);
  }
  return targets;
}

Result<std::string> environment_and_unit(GlobalOptions& options,
                                         const std::vector<std::string>& names,
                                         const std::string& command) {
  if (names.size() == 2) {
    const std::string& env = names.front();
    if (!options.env.empty() && options.env != env) {
      return fail(ErrorKind::kBadInput, fmt::format("{}: environment '{}' and -e {} disagree",
                                                    command, env, options.env));
    }
    options.env = env;
  }
  return names.back();
}

}  // namespace flotilla
