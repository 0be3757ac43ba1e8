#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/yaml_document.hpp"

namespace flotilla {

// Converts YAML to JSON the way Ansible reads it: PyYAML's YAML 1.1 implicit
// types (`yes`/`on` are booleans, `0x1F` is 31, `017` is 15, `1:30` is 90,
// dates become ISO strings). Quoted and `!!str`-tagged scalars stay strings.
nlohmann::json yaml11_to_json(const YamlNode& node);

// One scalar, resolved as above.
nlohmann::json yaml11_scalar(const YamlNode& node);

// The text Ansible would use for a mapping key (JSON object keys are strings).
std::string yaml11_key_text(const YamlNode& node);

// The first node Ansible would not read, with why: a tag Ansible has no
// constructor for (`!foo`), or a `!vault` that is not a vault text.
// Standard YAML tags, `!unsafe` and `!vault` (which becomes Ansible's JSON
// form {"__ansible_vault": CIPHERTEXT}) are fine.
struct RefusedTag {
  SourceMark mark;
  std::string message;
};
std::optional<RefusedTag> refused_tag(const YamlNode& node);

}  // namespace flotilla
