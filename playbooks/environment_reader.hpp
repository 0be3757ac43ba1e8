#pragma once

#include "core/config_reader.hpp"
#include "core/yaml_document.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

// One entry of the project file's `environments:` (policy, freezes,
// rehearsal rules), checked, appended to the project's environments.
// Errors go to the shared ConfigReader, as FILE:LINE:COL lines.
void read_environment(ConfigReader& in, Project& project, const YamlNode& key,
                      const YamlNode& node);

}  // namespace flotilla
