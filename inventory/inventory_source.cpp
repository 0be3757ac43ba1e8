#include "inventory/inventory_source.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/yaml_document.hpp"
#include "inventory/ansible_ini_inventory.hpp"

namespace flotilla {
namespace {

bool has_yaml_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  return ext == ".yml" || ext == ".yaml" || ext == ".json";
}

}  // namespace

Result<LoadedInventory> load_inventory(const std::string& path) {
  if (has_yaml_extension(path)) return load_ansible_yaml_inventory(path);
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return fail(ErrorKind::kBadInput,
                fmt::format("{}: inventory directories are not supported yet; name a file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    // The YAML loader words a missing file as every other command expects.
    return load_ansible_yaml_inventory(path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  // A YAML inventory without the extension (as flotilla has always read
  // them): a YAML mapping. An INI file never parses as one ("[web]" is a
  // YAML list, "host1 ansible_port=22" a string).
  if (auto doc = load_yaml_file(path); doc && doc->root != nullptr && doc->root->is_mapping()) {
    return parse_ansible_yaml_inventory(*doc);
  }
  return parse_ansible_ini_inventory(text.str(), path);
}

}  // namespace flotilla
