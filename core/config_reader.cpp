#include "core/config_reader.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "core/did_you_mean.hpp"

namespace flotilla {
namespace {

std::string describe(const YamlNode& node) {
  switch (node.kind) {
    case YamlNode::Kind::kNull:
      return "nothing (null)";
    case YamlNode::Kind::kSequence:
      return "a list";
    case YamlNode::Kind::kMapping:
      return "a mapping";
    case YamlNode::Kind::kScalar:
      break;
  }
  std::string shown = node.scalar.size() > 40 ? node.scalar.substr(0, 40) + "..." : node.scalar;
  return fmt::format("'{}'", shown);
}

}  // namespace

ConfigReader::ConfigReader(const YamlDocument& document) : path_(document.path) {
  for (const auto& dup : document.duplicate_keys) {
    error(dup.second, fmt::format("duplicate key '{}' (first defined at line {}, column {})",
                                  dup.key, dup.first.line, dup.first.column));
  }
}

void ConfigReader::error(SourceMark mark, const std::string& message) {
  errors_.push_back(located(path_, mark, message));
}

bool ConfigReader::check_mapping(const YamlNode& node, std::string_view what,
                                 const std::vector<std::string>& allowed) {
  if (!node.is_mapping()) {
    error(node, fmt::format("{}: expected a mapping, found {}", what, describe(node)));
    return false;
  }
  for (const auto& [key, value] : node.entries) {
    if (!key->is_scalar()) {
      error(*key, fmt::format("{}: keys must be plain names", what));
      continue;
    }
    if (allowed.empty()) continue;  // free-form names (units, environments)
    if (std::find(allowed.begin(), allowed.end(), key->scalar) == allowed.end()) {
      error(*key, fmt::format("unknown key '{}' in {}{}", key->scalar, what,
                              did_you_mean_suffix(key->scalar, allowed)));
    }
  }
  return true;
}

std::optional<std::string> ConfigReader::string(const YamlNode& node, std::string_view what) {
  if (!node.is_scalar()) {
    error(node, fmt::format("{}: expected a string, found {}", what, describe(node)));
    return std::nullopt;
  }
  return node.scalar;
}

std::optional<bool> ConfigReader::boolean(const YamlNode& node, std::string_view what) {
  if (node.is_scalar()) {
    const auto& s = node.scalar;
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  error(node, fmt::format("{}: expected true or false, found {}", what, describe(node)));
  return std::nullopt;
}

std::optional<long> ConfigReader::integer(const YamlNode& node, std::string_view what, long min,
                                          long max) {
  long value = 0;
  if (node.is_plain_scalar()) {
    const auto& s = node.scalar;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec == std::errc() && end == s.data() + s.size()) {
      if (value >= min && value <= max) return value;
      error(node,
            fmt::format("{}: expected a number from {} to {}, found {}", what, min, max, value));
      return std::nullopt;
    }
  }
  error(node, fmt::format("{}: expected a whole number, found {}", what, describe(node)));
  return std::nullopt;
}

std::optional<double> ConfigReader::non_negative(const YamlNode& node, std::string_view what,
                                                 std::string_view unit) {
  if (node.is_plain_scalar() && !node.scalar.empty()) {
    char* end = nullptr;
    double value = std::strtod(node.scalar.c_str(), &end);
    if (*end == '\0' && std::isfinite(value) && value >= 0) return value;
  }
  error(node, fmt::format("{}: expected a number of {} (0 or more), found {}", what, unit,
                          describe(node)));
  return std::nullopt;
}

std::optional<Duration> ConfigReader::duration(const YamlNode& node, std::string_view what) {
  if (node.is_scalar()) {
    if (auto d = parse_duration(node.scalar)) return d;
  }
  error(node, fmt::format("{}: expected a duration like 500ms, 10s or 5m, found {}", what,
                          describe(node)));
  return std::nullopt;
}

std::optional<std::vector<std::string>> ConfigReader::string_list(const YamlNode& node,
                                                                  std::string_view what) {
  if (node.is_scalar()) return std::vector<std::string>{node.scalar};
  if (!node.is_sequence()) {
    error(node, fmt::format("{}: expected a list of strings, found {}", what, describe(node)));
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (const auto& item : node.items) {
    auto s = string(*item, what);
    if (!s) return std::nullopt;
    out.push_back(*s);
  }
  return out;
}

}  // namespace flotilla
