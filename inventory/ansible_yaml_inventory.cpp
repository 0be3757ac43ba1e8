#include "inventory/ansible_yaml_inventory.hpp"

#include <fmt/format.h>

#include "core/yaml11_json.hpp"
#include "inventory/host_range.hpp"
#include "inventory/host_validation.hpp"

namespace flotilla {
namespace {

bool is_falsy(const nlohmann::json& value) {
  if (value.is_null()) return true;
  if (value.is_boolean()) return !value.get<bool>();
  if (value.is_number()) return value.get<double>() == 0;
  if (value.is_string() || value.is_array() || value.is_object()) return value.empty();
  return false;
}

std::string python_type_name(const YamlNode& node) {
  if (node.is_mapping()) return "dict";
  if (node.is_sequence()) return "list";
  if (node.is_null()) return "NoneType";
  nlohmann::json value = yaml11_scalar(node);
  if (value.is_boolean()) return "bool";
  if (value.is_number_integer()) return "int";
  if (value.is_number_float()) return "float";
  return "str";
}

// One inventory file being read; errors abort through InventoryError.
class InventoryReader {
 public:
  InventoryReader(const YamlDocument& doc, LoadedInventory& into) : doc_(doc), result_(into) {}

  Result<void> read() {
    const YamlNode* root = doc_.root.get();
    if (root == nullptr) return error({}, "empty inventory (no groups or hosts)");
    if (!root->is_mapping()) {
      return error(root->mark, "inventory must be a mapping of groups, found a " +
                                   std::string(root->kind_name()));
    }
    if (root->find("plugin") != nullptr) {
      return error(root->mark, "this is an inventory plugin configuration, not a YAML inventory");
    }
    if (auto refused = refused_tag(*root)) return error(refused->mark, refused->message);
    for (const auto& dup : doc_.duplicate_keys) {
      warn(dup.second, fmt::format("duplicate key '{}' (first at line {}); the last one is used",
                                   dup.key, dup.first.line));
    }
    for (const auto& [key, value] : root->entries) {
      if (!parse_group(*key, *value)) return tl::unexpected(error_);
    }
    return {};
  }

 private:
  tl::unexpected<Error> error(SourceMark mark, const std::string& message) {
    error_ = Error{ErrorKind::kBadInput, located(doc_.path, mark, message)};
    return tl::unexpected(error_);
  }
  bool fail_at(SourceMark mark, const std::string& message) {
    error(mark, message);
    return false;
  }
  void warn(SourceMark mark, const std::string& message) {
    result_.warnings.push_back(located(doc_.path, mark, message));
  }

  // A mapping key that must be a string (group, host or variable name).
  bool key_text(const YamlNode& key, const char* what, std::string& out) {
    nlohmann::json value =
        key.is_mapping() || key.is_sequence() ? nlohmann::json() : yaml11_scalar(key);
    if (!value.is_string()) {
      return fail_at(key.mark,
                     fmt::format("{} must be a string, found {}", what, python_type_name(key)));
    }
    out = value.get<std::string>();
    return true;
  }

  // Mirrors ansible/plugins/inventory/yaml.py `_parse_group`; returns false on error.
  bool parse_group(const YamlNode& key, const YamlNode& data, std::size_t* group_out = nullptr) {
    std::string name;
    if (!key_text(key, "group name", name)) return false;
    if (auto why = check_group_name(name)) return fail_at(key.mark, *why);
    if (!data.is_mapping() && !data.is_null()) {
      if (group_out != nullptr) {
        return fail_at(data.mark, fmt::format("group '{}' must be a mapping, found {}", name,
                                              python_type_name(data)));
      }
      warn(data.mark, fmt::format("skipping '{}': not a valid group definition", name));
      return true;
    }
    std::size_t group = result_.inventory.add_group(name, key.mark);
    if (group_out != nullptr) *group_out = group;
    if (data.is_null()) return true;

    for (const char* section : {"vars", "children", "hosts"}) {
      const YamlNode* value = data.find(section);
      if (value == nullptr || value->is_mapping() || value->is_null()) continue;
      if (value->is_scalar() && yaml11_scalar(*value).is_string()) continue;  // `hosts: web01`
      return fail_at(value->mark,
                     fmt::format("invalid '{}' entry for group '{}': requires a mapping, found {}",
                                 section, name, python_type_name(*value)));
    }

    for (const auto& [section_key, section] : data.entries) {
      std::string section_name = section_key->scalar;
      if (section->is_null()) continue;
      bool as_string =
          section->is_scalar() &&
          (section_name == "vars" || section_name == "children" || section_name == "hosts");
      if (!section->is_mapping() && !as_string) {
        warn(section->mark, fmt::format("skipping key '{}' in group '{}': it is not a mapping",
                                        section_name, name));
        continue;
      }
      // A bare string is shorthand for a mapping with one empty entry.
      std::vector<std::pair<const YamlNode*, const YamlNode*>> entries;
      static const YamlNode kNull;
      if (as_string) {
        entries.emplace_back(section.get(), &kNull);
      } else {
        for (const auto& [k, v] : section->entries) entries.emplace_back(k.get(), v.get());
      }
      if (section_name == "vars") {
        for (auto [k, v] : entries) {
          std::string var;
          if (!key_text(*k, "variable name", var)) return false;
          nlohmann::json value = yaml11_to_json(*v);
          if (auto why = check_connection_variable(var, value)) return fail_at(v->mark, *why);
          result_.inventory.set_group_variable(group, var, std::move(value));
        }
      } else if (section_name == "children") {
        for (auto [k, v] : entries) {
          std::size_t child = 0;
          if (!parse_group(*k, *v, &child)) return false;
          if (auto why = result_.inventory.add_child(group, child)) return fail_at(k->mark, *why);
        }
      } else if (section_name == "hosts") {
        for (auto [k, v] : entries) {
          if (!parse_hosts(*k, *v, group)) return false;
        }
      } else {
        warn(section_key->mark,
             fmt::format("skipping unexpected key '{}' in group '{}': only 'vars', 'children' and "
                         "'hosts' are valid",
                         section_name, name));
      }
    }
    return true;
  }

  bool parse_hosts(const YamlNode& key, const YamlNode& vars, std::size_t group) {
    std::string pattern;
    if (!key_text(key, "host name", pattern)) return false;
    HostAndPort split = split_host_port(pattern);
    auto names = expand_host_range(split.host);
    if (!names) return fail_at(key.mark, fmt::format("host '{}': {}", pattern, names.error()));
    nlohmann::json values =
        vars.is_scalar() || vars.is_null() ? yaml11_scalar(vars) : nlohmann::json();
    if (!vars.is_mapping() && !is_falsy(values)) {
      return fail_at(vars.mark, fmt::format("variables of host '{}' must be a mapping, found {}",
                                            pattern, python_type_name(vars)));
    }
    for (const auto& host_name : *names) {
      if (auto why = check_host_name(host_name)) return fail_at(key.mark, *why);
      auto [host, created] = result_.inventory.add_host(host_name, key.mark);
      // As Ansible: a port in the name only counts where the host is first seen.
      if (created && split.port)
        result_.inventory.set_host_variable(host, "ansible_port", *split.port);
      result_.inventory.add_host_to_group(host, group);
      if (!vars.is_mapping()) continue;
      for (const auto& [k, v] : vars.entries) {
        std::string var;
        if (!key_text(*k, "variable name", var)) return false;
        nlohmann::json value = yaml11_to_json(*v);
        if (auto why = check_connection_variable(var, value)) return fail_at(v->mark, *why);
        result_.inventory.set_host_variable(host, var, std::move(value));
      }
    }
    return true;
  }

  const YamlDocument& doc_;
  LoadedInventory& result_;
  Error error_;
};

}  // namespace

Result<void> parse_ansible_yaml_inventory_into(const YamlDocument& document,
                                               LoadedInventory& into) {
  return InventoryReader(document, into).read();
}

Result<LoadedInventory> parse_ansible_yaml_inventory(const YamlDocument& document) {
  LoadedInventory out;
  out.path = document.path;
  if (auto read = parse_ansible_yaml_inventory_into(document, out); !read) {
    return tl::unexpected(read.error());
  }
  out.inventory.finalize();
  return out;
}

Result<LoadedInventory> load_ansible_yaml_inventory(const std::string& path) {
  auto doc = load_yaml_file(path);
  if (!doc) return tl::unexpected(doc.error());
  return parse_ansible_yaml_inventory(*doc);
}

}  // namespace flotilla
