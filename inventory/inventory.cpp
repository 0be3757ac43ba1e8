#include "inventory/inventory.hpp"

#include <algorithm>
#include <functional>
#include <set>
#include <tuple>

namespace flotilla {

Inventory::Inventory() {
  add_group("all", {});
  add_group("ungrouped", {});
  add_child(kAll, kUngrouped);
}

std::size_t Inventory::add_group(const std::string& name, SourceMark mark) {
  auto [it, inserted] = group_index_.emplace(name, groups_.size());
  if (inserted) {
    InventoryGroup group;
    group.name = name;
    group.mark = mark;
    groups_.push_back(std::move(group));
  }
  return it->second;
}

std::pair<std::size_t, bool> Inventory::add_host(const std::string& name, SourceMark mark) {
  auto [it, inserted] = host_index_.emplace(name, hosts_.size());
  if (inserted) {
    InventoryHost host;
    host.name = name;
    host.mark = mark;
    hosts_.push_back(std::move(host));
  }
  return {it->second, inserted};
}

void Inventory::add_host_to_group(std::size_t host, std::size_t group) {
  auto& members = groups_[group].hosts;
  if (std::find(members.begin(), members.end(), host) != members.end()) return;
  members.push_back(host);
  hosts_[host].groups.push_back(group);
}

bool Inventory::is_descendant(std::size_t group, std::size_t maybe_descendant) const {
  std::vector<std::size_t> todo = groups_[group].children;
  std::set<std::size_t> seen;
  while (!todo.empty()) {
    std::size_t g = todo.back();
    todo.pop_back();
    if (g == maybe_descendant) return true;
    if (!seen.insert(g).second) continue;
    todo.insert(todo.end(), groups_[g].children.begin(), groups_[g].children.end());
  }
  return false;
}

std::optional<std::string> Inventory::add_child(std::size_t parent, std::size_t child) {
  if (parent == child) return "group '" + groups_[parent].name + "' cannot be its own child";
  if (is_descendant(child, parent)) {
    return "adding group '" + groups_[child].name + "' as a child of '" + groups_[parent].name +
           "' creates a loop";
  }
  auto& children = groups_[parent].children;
  if (std::find(children.begin(), children.end(), child) == children.end()) {
    children.push_back(child);
    groups_[child].parents.push_back(parent);
  }
  return std::nullopt;
}

void Inventory::set_group_variable(std::size_t group, const std::string& key,
                                   nlohmann::json value) {
  if (key == "ansible_group_priority") {
    // Ansible keeps it as the group's sort priority, not as a variable.
    if (value.is_number_integer()) groups_[group].priority = value.get<int>();
    if (value.is_string()) {
      try {
        groups_[group].priority = std::stoi(value.get<std::string>());
      } catch (const std::exception&) {
      }
    }
    return;
  }
  groups_[group].vars[key] = std::move(value);
}

void Inventory::set_host_variable(std::size_t host, const std::string& key, nlohmann::json value) {
  hosts_[host].vars[key] = std::move(value);
}

void Inventory::finalize() {
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    if (g != kAll && groups_[g].parents.empty()) add_child(kAll, g);
  }
  for (std::size_t h = 0; h < hosts_.size(); ++h) {
    std::vector<std::size_t> closure = host_group_closure(h);
    bool in_ungrouped = std::find(closure.begin(), closure.end(), kUngrouped) != closure.end();
    bool in_real_group = std::any_of(closure.begin(), closure.end(),
                                     [](std::size_t g) { return g != kAll && g != kUngrouped; });
    if (in_ungrouped && in_real_group) {
      std::erase(groups_[kUngrouped].hosts, h);
      std::erase(hosts_[h].groups, kUngrouped);
    } else if (!in_real_group && !in_ungrouped) {
      add_host_to_group(h, kUngrouped);
    }
  }
  // Depth: longest path from `all`. Groups form a DAG (add_child refuses loops).
  std::vector<int> memo(groups_.size(), -1);
  std::function<int(std::size_t)> depth = [&](std::size_t g) -> int {
    if (memo[g] >= 0) return memo[g];
    int d = 0;
    for (std::size_t p : groups_[g].parents) d = std::max(d, depth(p) + 1);
    return memo[g] = d;
  };
  for (std::size_t g = 0; g < groups_.size(); ++g) groups_[g].depth = depth(g);
}

std::optional<std::size_t> Inventory::find_host(const std::string& name) const {
  auto it = host_index_.find(name);
  if (it == host_index_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::size_t> Inventory::find_group(const std::string& name) const {
  auto it = group_index_.find(name);
  if (it == group_index_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::size_t> Inventory::ancestors(std::size_t group) const {
  std::vector<std::size_t> out;
  std::vector<std::size_t> todo = groups_[group].parents;
  std::set<std::size_t> seen;
  while (!todo.empty()) {
    std::size_t g = todo.back();
    todo.pop_back();
    if (!seen.insert(g).second) continue;
    out.push_back(g);
    todo.insert(todo.end(), groups_[g].parents.begin(), groups_[g].parents.end());
  }
  return out;
}

std::vector<std::size_t> Inventory::host_group_closure(std::size_t host) const {
  std::set<std::size_t> all;
  for (std::size_t g : hosts_[host].groups) {
    all.insert(g);
    for (std::size_t a : ancestors(g)) all.insert(a);
  }
  return {all.begin(), all.end()};
}

std::vector<std::string> Inventory::group_names(std::size_t host) const {
  std::vector<std::string> names;
  for (std::size_t g : host_group_closure(host)) {
    if (g != kAll) names.push_back(groups_[g].name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::size_t> Inventory::hosts_in_group(std::size_t group) const {
  // Ansible's Group.get_hosts: the group itself, its children in the order
  // they were added, then theirs level by level; each group's own hosts in
  // the order they joined it; a host once, where first met.
  std::vector<std::size_t> ordered{group};
  ordered.insert(ordered.end(), groups_[group].children.begin(), groups_[group].children.end());
  std::set<std::size_t> seen{group};
  std::vector<std::size_t> level = groups_[group].children;
  while (!level.empty()) {
    std::vector<std::size_t> next;
    for (std::size_t g : level) {
      if (!seen.insert(g).second) continue;
      for (std::size_t child : groups_[g].children) {
        ordered.push_back(child);
        next.push_back(child);
      }
    }
    level = std::move(next);
  }
  std::vector<std::size_t> members;
  std::set<std::size_t> have;
  for (std::size_t g : ordered) {
    for (std::size_t h : groups_[g].hosts) {
      if (have.insert(h).second) members.push_back(h);
    }
  }
  return members;
}

nlohmann::json Inventory::resolved_vars(std::size_t host) const {
  nlohmann::json vars = groups_[kAll].vars;
  std::vector<std::size_t> chain;
  for (std::size_t g : host_group_closure(host)) {
    if (g != kAll) chain.push_back(g);
  }
  std::sort(chain.begin(), chain.end(), [&](std::size_t a, std::size_t b) {
    const auto& ga = groups_[a];
    const auto& gb = groups_[b];
    return std::tie(ga.depth, ga.priority, ga.name) < std::tie(gb.depth, gb.priority, gb.name);
  });
  for (std::size_t g : chain) vars.update(groups_[g].vars);
  vars.update(groups_[kAll].file_vars);
  for (std::size_t g : chain) vars.update(groups_[g].file_vars);
  vars.update(hosts_[host].vars);
  vars.update(hosts_[host].file_vars);
  return vars;
}

void Inventory::add_group_file_vars(std::size_t group, const nlohmann::json& vars) {
  groups_[group].file_vars.update(vars);
}

void Inventory::add_host_file_vars(std::size_t host, const nlohmann::json& vars) {
  hosts_[host].file_vars.update(vars);
}

nlohmann::json Inventory::to_json() const {
  nlohmann::json hosts = nlohmann::json::object();
  for (std::size_t h = 0; h < hosts_.size(); ++h) {
    hosts[hosts_[h].name] = {{"groups", group_names(h)}, {"vars", resolved_vars(h)}};
  }
  nlohmann::json groups = nlohmann::json::object();
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    auto names = nlohmann::json::array();
    for (std::size_t h : hosts_in_group(g)) names.push_back(hosts_[h].name);
    groups[groups_[g].name] = std::move(names);
  }
  return {{"hosts", std::move(hosts)}, {"groups", std::move(groups)}};
}

Result<nlohmann::json> Inventory::reveal(const nlohmann::json& value) const {
  if (!is_vault_value(value)) return value;
  const std::string& ciphertext = value["__ansible_vault"].get_ref<const std::string&>();
  if (auto it = revealed_.find(ciphertext); it != revealed_.end()) return it->second;
  auto plain = reveal_vault_value(value, vault_secrets_);
  if (!plain) return tl::unexpected(plain.error());
  revealed_[ciphertext] = plain->get<std::string>();
  return plain;
}

std::vector<std::string> Inventory::opened_vault_values() const {
  std::vector<std::string> out;
  if (vault_secrets_.empty()) return out;
  auto visit = [&](const nlohmann::json& vars) {
    for (const auto& value : vars) {
      if (!is_vault_value(value)) continue;
      if (auto plain = reveal(value)) out.push_back(plain->get<std::string>());
    }
  };
  for (const auto& host : hosts_) {
    visit(host.vars);
    visit(host.file_vars);
  }
  for (const auto& group : groups_) {
    visit(group.vars);
    visit(group.file_vars);
  }
  return out;
}

}  // namespace flotilla
