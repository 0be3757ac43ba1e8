#include "inventory/inventory_source.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "core/yaml11_json.hpp"
#include "core/yaml_document.hpp"
#include "inventory/ansible_ini_inventory.hpp"
#include "inventory/ansible_vault.hpp"

namespace flotilla {
namespace {

namespace fs = std::filesystem;

bool has_yaml_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  return ext == ".yml" || ext == ".yaml" || ext == ".json";
}

// What ansible-core 2.14 skips in an inventory directory: hidden names, the
// vars directories, and its INVENTORY_IGNORE_EXTS.
bool ignored_in_directory(const std::string& name) {
  if (name.empty() || name[0] == '.' || name == "host_vars" || name == "group_vars" ||
      name == "vars_plugins") {
    return true;
  }
  for (const char* ext : {".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst",
                          ".orig", ".ini", ".cfg", ".retry"}) {
    if (name.ends_with(ext)) return true;
  }
  return false;
}

// A source's text. A file encrypted whole with ansible-vault (as Ansible
// allows for inventory and vars files) is decrypted first; `vaulted` says so.
Result<std::string> source_text(const fs::path& path, const LoadedInventory& into,
                                bool* vaulted = nullptr) {
  auto text = read_config_text(path.string());
  if (!text) return tl::unexpected(text.error());
  if (vaulted != nullptr) *vaulted = false;
  if (!is_vault_envelope(*text)) return text;
  auto plain = vault_decrypt(*text, into.inventory.vault_secrets());
  if (!plain) {
    return fail(ErrorKind::kBadInput, fmt::format("{}: {}", path.string(), plain.error().message));
  }
  if (vaulted != nullptr) *vaulted = true;
  return std::move(*plain);
}

// Every string in a value, for redaction.
void collect_strings(const nlohmann::json& value, std::vector<std::string>& out) {
  if (value.is_string()) {
    out.push_back(value.get<std::string>());
  } else if (value.is_structured()) {
    for (const auto& item : value) collect_strings(item, out);
  }
}

// Every string value of every host's and group's own variables.
std::set<std::string> variable_strings(const Inventory& inventory) {
  std::vector<std::string> all;
  for (const auto& h : inventory.hosts()) collect_strings(h.vars, all);
  for (const auto& g : inventory.groups()) collect_strings(g.vars, all);
  return {all.begin(), all.end()};
}

Result<void> add_file(const fs::path& path, LoadedInventory& into) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IXUSR) != 0 && !has_yaml_extension(path)) {
    // Ansible would run it as an inventory script; flotilla runs nothing local.
    return fail(ErrorKind::kBadInput,
                fmt::format("{}: an executable file is an inventory script to Ansible; flotilla "
                            "does not run inventory scripts (save its output as JSON or YAML)",
                            path.string()));
  }
  bool vaulted = false;
  auto text = source_text(path, into, &vaulted);
  if (!text) return tl::unexpected(text.error());
  // An inventory encrypted whole is secret as a vars file encrypted whole
  // is: every value it brings (and no other file has) is redacted.
  std::set<std::string> before;
  if (vaulted) before = variable_strings(into.inventory);
  auto parsed = [&]() -> Result<void> {
    if (has_yaml_extension(path)) {
      auto doc = parse_yaml(*text, path.string());
      if (!doc) return tl::unexpected(doc.error());
      return parse_ansible_yaml_inventory_into(*doc, into);
    }
    // A YAML inventory without the extension (as flotilla has always read
    // them) is a YAML mapping; an INI file never parses as one ("[web]" is a
    // YAML list, "host1 ansible_port=22" a string).
    if (auto doc = parse_yaml(*text, path.string());
        doc && doc->root != nullptr && doc->root->is_mapping()) {
      return parse_ansible_yaml_inventory_into(*doc, into);
    }
    return parse_ansible_ini_inventory_into(*text, path.string(), into);
  }();
  if (!parsed || !vaulted) return parsed;
  for (const auto& value : variable_strings(into.inventory)) {
    if (!before.count(value)) into.secret_values.push_back(value);
  }
  return parsed;
}

Result<void> add_source(const fs::path& path, LoadedInventory& into) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return add_file(path, into);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (ignored_in_directory(name)) continue;
    if (auto added = add_source(path / name, into); !added) return added;
  }
  return {};
}

// The variables of one group_vars/host_vars entry, as ansible-core's
// host_group_vars plugin finds them: NAME, NAME.yml, NAME.yaml or NAME.json
// (the first that exists), or a directory NAME/ of such files, read in
// sorted order, later files replacing earlier top-level keys.
Result<nlohmann::json> vars_of(const fs::path& dir, const std::string& name,
                               LoadedInventory& into) {
  nlohmann::json vars = nlohmann::json::object();
  std::vector<fs::path> files;
  std::error_code ec;
  for (const char* ext : {"", ".yml", ".yaml", ".json"}) {
    fs::path candidate = dir / (name + ext);
    if (!fs::exists(candidate, ec)) continue;
    if (fs::is_directory(candidate, ec)) {
      for (auto it = fs::recursive_directory_iterator(candidate, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::string file = it->path().filename().string();
        if (file[0] == '.' || it->is_directory()) continue;
        std::string ext_of = it->path().extension().string();
        if (ext_of.empty() || has_yaml_extension(it->path())) files.push_back(it->path());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(candidate);
    }
    break;
  }
  for (const auto& file : files) {
    bool vaulted = false;
    auto text = source_text(file, into, &vaulted);
    if (!text) return tl::unexpected(text.error());
    auto doc = parse_yaml(*text, file.string());
    if (!doc) return tl::unexpected(doc.error());
    if (doc->root == nullptr || doc->root->is_null()) continue;  // an empty file
    if (auto refused = refused_tag(*doc->root)) {
      return fail(ErrorKind::kBadInput, located(file.string(), refused->mark, refused->message));
    }
    if (!doc->root->is_mapping()) {
      return fail(
          ErrorKind::kBadInput,
          located(file.string(), doc->root->mark,
                  fmt::format("variables must be a mapping, found a {}", doc->root->kind_name())));
    }
    nlohmann::json file_vars = yaml11_to_json(*doc->root);
    if (vaulted) collect_strings(file_vars, into.secret_values);
    vars.update(file_vars);
  }
  return vars;
}

Result<void> add_vars_files(const fs::path& basedir, LoadedInventory& into) {
  Inventory& inventory = into.inventory;
  std::error_code ec;
  if (fs::is_directory(basedir / "group_vars", ec)) {
    for (std::size_t g = 0; g < inventory.groups().size(); ++g) {
      auto vars = vars_of(basedir / "group_vars", inventory.groups()[g].name, into);
      if (!vars) return tl::unexpected(vars.error());
      inventory.add_group_file_vars(g, *vars);
    }
  }
  if (fs::is_directory(basedir / "host_vars", ec)) {
    for (std::size_t h = 0; h < inventory.hosts().size(); ++h) {
      auto vars = vars_of(basedir / "host_vars", inventory.hosts()[h].name, into);
      if (!vars) return tl::unexpected(vars.error());
      inventory.add_host_file_vars(h, *vars);
    }
  }
  return {};
}

}  // namespace

Result<LoadedInventory> load_inventory(const std::string& path,
                                       std::vector<VaultSecret> vault_secrets) {
  LoadedInventory out;
  out.path = path;
  out.inventory.set_vault_secrets(std::move(vault_secrets));
  if (auto added = add_source(path, out); !added) return tl::unexpected(added.error());
  out.inventory.finalize();
  std::error_code ec;
  fs::path basedir = fs::is_directory(path, ec) ? fs::path(path) : fs::path(path).parent_path();
  if (basedir.empty()) basedir = ".";
  if (auto vars = add_vars_files(basedir, out); !vars) return tl::unexpected(vars.error());
  return out;
}

}  // namespace flotilla
