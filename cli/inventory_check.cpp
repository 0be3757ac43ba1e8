#include "cli/inventory_check.hpp"

#include <set>

#include <fmt/format.h>

#include "cli/targets.hpp"
#include "inventory/host_pattern.hpp"
#include "inventory/inventory_source.hpp"
#include "playbooks/project_file.hpp"

namespace flotilla {

// Validates everything a deploy would read, collecting every error.
namespace {

// What `inventory --check` found, file by file.
class InventoryCheck {
 public:
  InventoryCheck(Reporter& reporter, const std::vector<VaultSecret>& secrets)
      : reporter_(reporter), secrets_(secrets) {}

  std::optional<LoadedInventory> check_inventory_file(const std::string& path) {
    files_.push_back(path);
    auto loaded = load_inventory(path, secrets_);
    if (!loaded) {
      errors_.push_back(loaded.error().message);
      return std::nullopt;
    }
    warnings_.insert(warnings_.end(), loaded->warnings.begin(), loaded->warnings.end());
    for (const auto& value : loaded->secret_values) reporter_.redact(value);
    // With a password given, every vault value must open with it.
    if (!secrets_.empty()) check_vault_values(path, loaded->inventory);
    host_count_ += loaded->inventory.hosts().size();
    return std::move(*loaded);
  }

  // Every environment's inventory (or -i's), and the project's host
  // patterns against it.
  void check_project(const GlobalOptions& options, const std::string& path) {
    files_.push_back(path);
    auto project = load_project_file(path);
    if (!project) {
      errors_.push_back(project.error().message);
      return;
    }
    for (const auto& env : project->environments) {
      if (!options.env.empty() && env.name != options.env) continue;
      auto loaded =
          check_inventory_file(options.inventory.empty() ? env.inventory : options.inventory);
      if (!loaded) continue;
      for (const auto& unit : project->units) {
        if (auto hosts = select_hosts(loaded->inventory, unit.hosts); !hosts) {
          warnings_.push_back(located(path, unit.hosts_mark,
                                      fmt::format("units.{}.hosts: in environment '{}': {}",
                                                  unit.name, env.name, hosts.error().message)));
        }
      }
      if (!env.lock_host) continue;
      if (auto lock = select_hosts(loaded->inventory, *env.lock_host); !lock) {
        errors_.push_back(
            located(path, env.mark,
                    fmt::format("environments.{}.lock_host: {}", env.name, lock.error().message)));
      }
    }
  }

  Result<Outcome> report() {
    for (const auto& w : warnings_) reporter_.warning(w);
    if (reporter_.json()) {
      reporter_.document({{"ok", errors_.empty()},
                          {"files", files_},
                          {"hosts", host_count_},
                          {"errors", errors_},
                          {"warnings", warnings_}});
    }
    if (!errors_.empty())
      return fail(ErrorKind::kBadInput, fmt::format("{}", fmt::join(errors_, "\n")));
    reporter_.text(fmt::format("{} {} file(s), {} host(s)",
                               reporter_.paint("ok:", Reporter::Color::kGreen), files_.size(),
                               host_count_));
    return Outcome();
  }

 private:
  void check_vault_values(const std::string& path, const Inventory& inventory) {
    std::set<std::string> checked;
    for (std::size_t h = 0; h < inventory.hosts().size(); ++h) {
      const nlohmann::json vars = inventory.resolved_vars(h);
      for (const auto& [key, value] : vars.items()) {
        if (!is_vault_value(value) || !checked.insert(value.dump()).second) continue;
        if (auto plain = inventory.reveal(value); !plain) {
          errors_.push_back(fmt::format("{}: host {}: variable {}: {}", path,
                                        inventory.hosts()[h].name, key, plain.error().message));
        }
      }
    }
  }

  Reporter& reporter_;
  const std::vector<VaultSecret>& secrets_;
  std::vector<std::string> errors_;
  std::vector<std::string> warnings_;
  std::vector<std::string> files_;
  std::size_t host_count_ = 0;
};

}  // namespace

Result<Outcome> check_inventory(const GlobalOptions& options, Reporter& reporter) {
  auto secrets = vault_secrets(options);
  if (!secrets) return tl::unexpected(secrets.error());
  for (const auto& secret : *secrets) reporter.redact(secret.password);
  InventoryCheck check(reporter, *secrets);
  if (!options.inventory.empty() && options.file.empty() && options.env.empty()) {
    check.check_inventory_file(options.inventory);
  } else {
    auto path = find_project_file(options.file);
    if (!path) return tl::unexpected(path.error());
    check.check_project(options, *path);
  }
  return check.report();
}

}  // namespace flotilla
