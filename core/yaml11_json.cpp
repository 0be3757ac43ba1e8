#include "core/yaml11_json.hpp"

#include <cmath>
#include <limits>
#include <optional>
#include <regex>

#include <fmt/format.h>

namespace flotilla {
namespace {

// PyYAML's implicit resolvers (yaml/resolver.py), in its order.
const std::regex& bool_re() {
  static const std::regex re(
      "yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF");
  return re;
}
const std::regex& float_re() {
  static const std::regex re(
      R"([-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))");
  return re;
}
const std::regex& int_re() {
  static const std::regex re(
      R"([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)");
  return re;
}
const std::regex& null_re() {
  static const std::regex re("~|null|Null|NULL|");
  return re;
}
const std::regex& timestamp_re() {
  static const std::regex re(
      R"(([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]*))?(?:[ \t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)?)");
  return re;
}

std::string without_underscores(std::string text) {
  std::erase(text, '_');
  return text;
}

// Splits a leading sign off; returns -1 or +1.
int take_sign(std::string& text) {
  int sign = 1;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    if (text[0] == '-') sign = -1;
    text.erase(0, 1);
  }
  return sign;
}

// "190:20:30" -> 190*3600 + 20*60 + 30, each part read by `part`.
template <typename T, typename Parse>
T sexagesimal(const std::string& text, Parse part) {
  T value = 0;
  std::size_t start = 0;
  while (true) {
    std::size_t colon = text.find(':', start);
    value = value * 60 + part(text.substr(start, colon - start));
    if (colon == std::string::npos) return value;
    start = colon + 1;
  }
}

bool is_true_word(const std::string& s) {
  return s == "yes" || s == "Yes" || s == "YES" || s == "true" || s == "True" || s == "TRUE" ||
         s == "on" || s == "On" || s == "ON";
}

nlohmann::json construct_int(const std::string& raw) {
  std::string text = without_underscores(raw);
  int sign = take_sign(text);
  try {
    long long value = 0;
    if (text == "0") {
      value = 0;
    } else if (text.starts_with("0b")) {
      value = std::stoll(text.substr(2), nullptr, 2);
    } else if (text.starts_with("0x")) {
      value = std::stoll(text.substr(2), nullptr, 16);
    } else if (text.starts_with("0")) {
      value = std::stoll(text, nullptr, 8);
    } else if (text.find(':') != std::string::npos) {
      value = sexagesimal<long long>(text, [](const std::string& p) { return std::stoll(p); });
    } else {
      value = std::stoll(text);
    }
    return sign * value;
  } catch (const std::out_of_range&) {
    // Python has big integers; JSON consumers would see a float anyway.
    return sign * std::stod(text);
  }
}

nlohmann::json construct_float(const std::string& raw) {
  std::string text = without_underscores(raw);
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int sign = take_sign(text);
  if (text == ".inf" || text == ".nan") {
    // JSON has no infinity or NaN; null is what nlohmann writes for them.
    return nullptr;
  }
  if (text.find(':') != std::string::npos) {
    return sign * sexagesimal<double>(text, [](const std::string& p) { return std::stod(p); });
  }
  return sign * std::stod(text);
}

// datetime.isoformat() of what PyYAML's construct_yaml_timestamp returns.
nlohmann::json construct_timestamp(const std::smatch& m, const std::string& raw) {
  int year = std::stoi(m[1]), month = std::stoi(m[2]), day = std::stoi(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > 31) return raw;
  if (!m[4].matched) return fmt::format("{:04}-{:02}-{:02}", year, month, day);
  std::string text = fmt::format("{:04}-{:02}-{:02}T{:02}:{}:{}", year, month, day, std::stoi(m[4]),
                                 m[5].str(), m[6].str());
  if (m[7].matched && !m[7].str().empty()) {
    std::string fraction = m[7].str().substr(0, 6);
    fraction.append(6 - fraction.size(), '0');
    if (std::stoi(fraction) != 0) text += "." + fraction;
  }
  if (m[8].matched) {
    if (m[8].str() == "Z") {
      text += "+00:00";
    } else {
      int hours = std::stoi(m[10]);
      int minutes = m[11].matched ? std::stoi(m[11]) : 0;
      text += fmt::format("{}{:02}:{:02}", m[9].str(), hours, minutes);
    }
  }
  return text;
}

std::optional<nlohmann::json> explicit_tag(const YamlNode& node) {
  const std::string& tag = node.tag;
  if (tag == "?") return std::nullopt;
  if (tag == "tag:yaml.org,2002:int") return construct_int(node.scalar);
  if (tag == "tag:yaml.org,2002:float") return construct_float(node.scalar);
  if (tag == "tag:yaml.org,2002:bool") return is_true_word(node.scalar);
  if (tag == "tag:yaml.org,2002:null") return nullptr;
  // Ansible's own JSON form of a vault value (as `ansible-inventory --list`
  // prints it): the ciphertext, never used as the value.
  if (tag == "!vault") return nlohmann::json{{"__ansible_vault", node.scalar}};
  // "!" (quoted), "!!str", Ansible's "!unsafe" and anything else: a string.
  return node.scalar;
}

}  // namespace

nlohmann::json yaml11_scalar(const YamlNode& node) {
  if (node.is_null()) return nullptr;
  if (auto tagged = explicit_tag(node)) return *tagged;
  const std::string& s = node.scalar;
  if (s.empty()) return nullptr;
  // Cheap first-character filter, as PyYAML does, keeps regexes off most strings.
  char c = s[0];
  bool maybe_special = std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' ||
                       c == '.' || c == '~' || c == 'y' || c == 'Y' || c == 'n' || c == 'N' ||
                       c == 't' || c == 'T' || c == 'f' || c == 'F' || c == 'o' || c == 'O';
  if (!maybe_special) return s;
  if (std::regex_match(s, bool_re())) return is_true_word(s);
  if (std::regex_match(s, float_re())) return construct_float(s);
  if (std::regex_match(s, int_re())) return construct_int(s);
  if (std::regex_match(s, null_re())) return nullptr;
  std::smatch m;
  if (std::regex_match(s, m, timestamp_re())) return construct_timestamp(m, s);
  return s;
}

nlohmann::json yaml11_to_json(const YamlNode& node) {
  switch (node.kind) {
    case YamlNode::Kind::kNull:
    case YamlNode::Kind::kScalar:
      return yaml11_scalar(node);
    case YamlNode::Kind::kSequence: {
      auto array = nlohmann::json::array();
      for (const auto& item : node.items) array.push_back(yaml11_to_json(*item));
      return array;
    }
    case YamlNode::Kind::kMapping: {
      auto object = nlohmann::json::object();
      for (const auto& [key, value] : node.entries) {
        object[yaml11_key_text(*key)] = yaml11_to_json(*value);
      }
      return object;
    }
  }
  return nullptr;
}

std::optional<RefusedTag> refused_tag(const YamlNode& node) {
  const std::string& tag = node.tag;
  bool standard = tag.empty() || tag == "?" || tag == "!" || tag == "!unsafe" ||
                  tag.rfind("tag:yaml.org,2002:", 0) == 0;
  if (tag == "!vault") {
    if (node.is_scalar() && node.scalar.starts_with("$ANSIBLE_VAULT;")) return std::nullopt;
    return RefusedTag{node.mark,
                      "!vault: expected an Ansible Vault text ($ANSIBLE_VAULT;1.1;AES256 and "
                      "hexadecimal lines, as ansible-vault encrypt_string writes it)"};
  }
  if (!standard) {
    return RefusedTag{node.mark,
                      fmt::format("could not determine a constructor for the tag '{}'", tag)};
  }
  for (const auto& item : node.items) {
    if (auto refused = refused_tag(*item)) return refused;
  }
  for (const auto& [key, value] : node.entries) {
    if (auto refused = refused_tag(*key)) return refused;
    if (auto refused = refused_tag(*value)) return refused;
  }
  return std::nullopt;
}

std::string yaml11_key_text(const YamlNode& node) {
  if (!node.is_scalar() && !node.is_null()) return node.scalar;
  nlohmann::json value = yaml11_scalar(node);
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

}  // namespace flotilla
