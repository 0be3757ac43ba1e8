// `flotilla inventory list|check`: what the fleet looks like, and whether the
// project file and inventories are valid, without touching the network.
#include <set>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/inventory_check.hpp"
#include "cli/resolved_hosts.hpp"
#include "cli/targets.hpp"
#include "inventory/host_pattern.hpp"

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
    for (auto it = doc["hosts"].begin(); it != doc["hosts"].end();) {
      it = selected.count(*inventory.find_host(it.key())) ? std::next(it) : doc["hosts"].erase(it);
    }
    for (auto& [group, members] : doc["groups"].items()) {
      nlohmann::json kept = nlohmann::json::array();
      for (const auto& name : members) {
        if (doc["hosts"].contains(name.get<std::string>())) kept.push_back(name);
      }
      members = kept;
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
    // As Ansible's ssh plugin reads them: the older name wins where both are set.
    std::string address =
        var_text(vars, "ansible_ssh_host", var_text(vars, "ansible_host", host.name));
    std::string port = var_text(vars, "ansible_ssh_port", var_text(vars, "ansible_port", ""));
    if (!port.empty()) address += ":" + port;
    reporter.text(
        fmt::format("{:<{}}  {:<24} {:<12} {}", host.name, width, address,
                    var_text(vars, "ansible_ssh_user", var_text(vars, "ansible_user", "-")),
                    fmt::join(inventory.group_names(h), ",")));
  }
  reporter.progress(fmt::format("{} hosts", targets->hosts.size()));
  return Outcome();
}

}  // namespace

void add_inventory_command(CLI::App& app, const GlobalOptions& options, Reporter*& reporter,
                           CommandAction& action) {
  auto* inventory = app.add_subcommand("inventory", "Show or validate the inventory");
  inventory->require_subcommand(1);
  auto* list = inventory->add_subcommand(
      "list", "Hosts with their groups and resolved variables (--json: Ansible-compatible view)");
  auto resolved = std::make_shared<bool>(false);
  list->add_flag("--resolved", *resolved, "Each host's SSH connection, as `ssh -G` shows it");
  list->callback([&, resolved] {
    action = [&, resolved] {
      return *resolved ? list_resolved_hosts(options, *reporter)
                       : list_inventory(options, *reporter);
    };
  });
  auto* check = inventory->add_subcommand(
      "check", "Validate the project file and inventories; no network. Exit 2 on any error");
  check->callback([&] { action = [&] { return check_inventory(options, *reporter); }; });
}

}  // namespace flotilla
