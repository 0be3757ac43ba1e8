#include "cli/inventory_check.hpp"

#include <set>

#include <fmt/format.h>

#include "cli/targets.hpp"
#include "inventory/host_pattern.hpp"
#include "inventory/inventory_source.hpp"
#include "playbooks/project_file.hpp"

namespace flotilla {

// Validates everything a deploy would read, collecting every error.
Result<Outcome> check_inventory(const GlobalOptions& options, Reporter& reporter) {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  std::vector<std::string> files;
  std::size_t host_count = 0;

  auto secrets = vault_secrets(options);
  if (!secrets) return tl::unexpected(secrets.error());
  for (const auto& secret : *secrets) reporter.redact(secret.password);

  auto check_one_inventory = [&](const std::string& path) -> std::optional<LoadedInventory> {
    files.push_back(path);
    auto loaded = load_inventory(path, *secrets);
    if (!loaded) {
      errors.push_back(loaded.error().message);
      return std::nullopt;
    }
    warnings.insert(warnings.end(), loaded->warnings.begin(), loaded->warnings.end());
    for (const auto& value : loaded->secret_values) reporter.redact(value);
    if (!secrets->empty()) {
      // With a password given, every vault value must open with it.
      const Inventory& inventory = loaded->inventory;
      std::set<std::string> checked;
      for (std::size_t h = 0; h < inventory.hosts().size(); ++h) {
        const nlohmann::json vars = inventory.resolved_vars(h);
        for (const auto& [key, value] : vars.items()) {
          if (!is_vault_value(value) || !checked.insert(value.dump()).second) continue;
          auto plain = inventory.reveal(value);
          if (!plain) {
            errors.push_back(fmt::format("{}: host {}: variable {}: {}", path,
                                         inventory.hosts()[h].name, key, plain.error().message));
          }
        }
      }
    }
    host_count += loaded->inventory.hosts().size();
    return std::move(*loaded);
  };

  if (!options.inventory.empty() && options.file.empty() && options.env.empty()) {
    check_one_inventory(options.inventory);
  } else {
    auto path = find_project_file(options.file);
    if (!path) return tl::unexpected(path.error());
    files.push_back(*path);
    auto project = load_project_file(*path);
    if (!project) {
      errors.push_back(project.error().message);
    } else {
      for (const auto& env : project->environments) {
        if (!options.env.empty() && env.name != options.env) continue;
        auto loaded =
            check_one_inventory(options.inventory.empty() ? env.inventory : options.inventory);
        if (!loaded) continue;
        for (const auto& unit : project->units) {
          auto hosts = select_hosts(loaded->inventory, unit.hosts);
          if (!hosts) {
            warnings.push_back(located(*path, unit.hosts_mark,
                                       fmt::format("units.{}.hosts: in environment '{}': {}",
                                                   unit.name, env.name, hosts.error().message)));
          }
        }
        if (env.lock_host) {
          if (auto lock = select_hosts(loaded->inventory, *env.lock_host); !lock) {
            errors.push_back(located(
                *path, env.mark,
                fmt::format("environments.{}.lock_host: {}", env.name, lock.error().message)));
          }
        }
      }
    }
  }

  for (const auto& w : warnings) reporter.warning(w);
  if (reporter.json()) {
    reporter.document({{"ok", errors.empty()},
                       {"files", files},
                       {"hosts", host_count},
                       {"errors", errors},
                       {"warnings", warnings}});
  }
  if (!errors.empty())
    return fail(ErrorKind::kBadInput, fmt::format("{}", fmt::join(errors, "\n")));
  reporter.text(fmt::format("{} {} file(s), {} host(s)",
                            reporter.paint("ok:", Reporter::Color::kGreen), files.size(),
                            host_count));
  return Outcome();
}

}  // namespace flotilla
