#include "inventory/host_validation.hpp"

#include "inventory/ansible_vault.hpp"

#include <algorithm>
#include <cctype>

namespace flotilla {
namespace {

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
         c == ':';
}

std::optional<std::string> check_network_name(const std::string& what, const std::string& name) {
  if (name.empty()) return what + " is empty";
  if (name.size() > 253) return what + " is longer than 253 characters";
  if (name[0] == '-') return what + " '" + name + "' begins with '-'";
  auto bad = std::find_if_not(name.begin(), name.end(), is_name_char);
  if (bad != name.end()) {
    return what +
           " contains a character not allowed in host names (letters, digits, '.', '-', "
           "'_', ':')";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_host_name(const std::string& name) {
  return check_network_name("host name", name);
}

std::optional<std::string> check_group_name(const std::string& name) {
  if (name.empty()) return "group name is empty";
  if (name[0] == '-') return "group name '" + name + "' begins with '-'";
  for (char c : name) {
    if (std::isspace(static_cast<unsigned char>(c)) ||
        std::iscntrl(static_cast<unsigned char>(c))) {
      return "group name contains whitespace or a control character";
    }
    if (c == ',' || c == ':' || c == '!' || c == '&') {
      return "group name '" + name + "' contains a host-pattern operator (',', ':', '!', '&')";
    }
  }
  return std::nullopt;
}

namespace {

std::optional<std::string> check_connection_value(
    const std::string& key,
    const nlohmann::json& value) {  // checked once decrypted, where it is used
  if (key == "ansible_host") {
    if (!value.is_string()) return "ansible_host must be a string";
    return check_network_name("ansible_host", value.get<std::string>());
  }
  if (key == "ansible_user") {
    if (!value.is_string()) return "ansible_user must be a string";
    const auto user = value.get<std::string>();
    if (user.empty() || user.size() > 64) return "ansible_user must be 1 to 64 characters";
    if (user[0] == '-') return "ansible_user '" + user + "' begins with '-'";
    for (char c : user) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) {
        return "ansible_user contains a character not allowed in user names";
      }
    }
    return std::nullopt;
  }
  if (key == "ansible_port") {
    long port = -1;
    if (value.is_number_integer()) {
      port = value.get<long>();
    } else if (value.is_string()) {
      const auto text = value.get<std::string>();
      if (!text.empty() && text.size() < 6 && std::all_of(text.begin(), text.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c));
          })) {
        port = std::stol(text);
      }
    }
    if (port < 1 || port > 65535) return "ansible_port must be a number from 1 to 65535";
    return std::nullopt;
  }
  if (key == "ansible_ssh_private_key_file") {
    if (!value.is_string() || value.get<std::string>().empty()) {
      return "ansible_ssh_private_key_file must be a path";
    }
    for (char c : value.get<std::string>()) {
      if (std::iscntrl(static_cast<unsigned char>(c))) {
        return "ansible_ssh_private_key_file contains a control character";
      }
    }
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> check_connection_variable(const std::string& name,
                                                     const nlohmann::json& value) {
  if (is_vault_value(value)) return std::nullopt;  // checked once decrypted, where it is used
  // Ansible's older names are read as the newer ones and checked alike.
  static const std::pair<std::string_view, std::string_view> kOlderNames[] = {
      {"ansible_ssh_host", "ansible_host"},
      {"ansible_ssh_port", "ansible_port"},
      {"ansible_ssh_user", "ansible_user"},
      {"ansible_private_key_file", "ansible_ssh_private_key_file"}};
  std::string key = name;
  for (const auto& [older, newer] : kOlderNames) {
    if (name == older) key = newer;
  }
  auto why = check_connection_value(key, value);
  if (why && key != name && why->starts_with(key)) why = name + why->substr(key.size());
  return why;
}

}  // namespace flotilla
