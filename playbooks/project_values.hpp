#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/config_reader.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

// What the project file's readers (project_file, environment_reader,
// unit_reader) check and expand alike.

// A name usable as an environment or unit name (and in a path on hosts).
bool is_identifier(const std::string& name);
// `path` relative to the project file's directory, `~` expanded.
std::string expand_path(const std::string& path, const std::string& base_dir);
bool is_url(const std::string& repo);
// The first {{var}} that sits inside quotes in a unit command, if any.
std::optional<std::string> quoted_template(std::string_view text);
// `env:NAME` or `file:PATH`: where a secret is read from, never the value.
std::optional<SecretSource> secret_ref(ConfigReader& in, const YamlNode& node,
                                       const std::string& what, const std::string& base_dir);

}  // namespace flotilla
