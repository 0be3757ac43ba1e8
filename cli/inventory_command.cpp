// `flotilla inventory list|check`: what the fleet looks like, and whether the
// project file and inventories are valid, without touching the network.
#include <set>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/targets.hpp"
#include "inventory/host_pattern.hpp"
#include "inventory/inventory_source.hpp"
#include "playbooks/project_file.hpp"

namespace flotilla {
namespace {

std::string var_text(const nlohmann::json& vars, const char* key, const std::string& fallback) {
  auto it = vars.find(key);
  if (it == vars.end()) return fallback;
  return it->is_string() ? it->get<std::string>() : it->dump();
}

Result<Outcome> list_inventory(const GlobalOptions& options, Reporter& reporter) {
  auto targets = load_targets(options, reporter, false);
  if (!targets) return tl::unexpected(targets.error());
  const Inventory& inventory = targets->inventory.inventory;
  std::set<std::size_t> selected(targets->hosts.begin(), targets->hosts.end());

  if (reporter.json()) {
    nlohmann::json doc = inventory.to_json();
    if (!options.limit.empty()) {
      for (auto it = doc["hosts"].begin(); it != doc["hosts"].end();) {
        auto h = inventory.find_host(it.key());
        it = selected.count(*h) ? std::next(it) : doc["hosts"].erase(it);
      }
      for (auto& [group, members] : doc["groups"].items()) {
        nlohmann::json kept = nlohmann::json::array();
        for (const auto& name : members) {
          if (doc["hosts"].contains(name.get<std::string>())) kept.push_back(name);
        }
        members = kept;
      }
    }
    reporter.document(doc);
    return Outcome();
  }
  std::size_t width = 4;
  for (std::size_t h : targets->hosts) width = std::max(width, inventory.hosts()[h].name.size());
  reporter.text(reporter.paint(
      fmt::format("{:<{}}  {:<24} {:<12} {}", "HOST", width, "ADDRESS", "USER", "GROUPS"),
      Reporter::Color::kBold));
  for (std::size_t h : targets->hosts) {
    const auto& host = inventory.hosts()[h];
    nlohmann::json vars = inventory.resolved_vars(h);
    std::string address = var_text(vars, "ansible_host", host.name);
    std::string port = var_text(vars, "ansible_port", "");
    if (!port.empty()) address += ":" + port;
    reporter.text(fmt::format("{:<{}}  {:<24} {:<12} {}", host.name, width, address,
                              var_text(vars, "ansible_user", "-"),
                              fmt::join(inventory.group_names(h), ",")));
  }
  reporter.progress(fmt::format("{} hosts", targets->hosts.size()));
  return Outcome();
}

// Validates everything a deploy would read, collecting every error.
Result<Outcome> check_inventory(const GlobalOptions& options, Reporter& reporter) {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  std::vector<std::string> files;
  std::size_t host_count = 0;

  auto check_one_inventory = [&](const std::string& path) -> std::optional<LoadedInventory> {
    files.push_back(path);
    auto loaded = load_inventory(path);
    if (!loaded) {
      errors.push_back(loaded.error().message);
      return std::nullopt;
    }
    warnings.insert(warnings.end(), loaded->warnings.begin(), loaded->warnings.end());
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

}  // namespace

void add_inventory_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                           CommandAction& action) {
  auto* inventory = app.add_subcommand("inventory", "Show or validate the inventory");
  inventory->require_subcommand(1);
  auto* list = inventory->add_subcommand(
      "list", "Hosts with their groups and resolved variables (--json: Ansible-compatible view)");
  list->callback([&] { action = [&] { return list_inventory(options, *reporter); }; });
  auto* check = inventory->add_subcommand(
      "check", "Validate the project file and inventories; no network. Exit 2 on any error");
  check->callback([&] { action = [&] { return check_inventory(options, *reporter); }; });
}

}  // namespace flotilla
