#pragma once

#include "core/config_reader.hpp"
#include "core/yaml_document.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

// One entry of the project file's `units:` (source, commands, health,
// drain, secrets, hooks, rollout), checked, with its kind's defaults,
// appended to the project's units. Errors go to the shared ConfigReader.
void read_unit(ConfigReader& in, Project& project, const YamlNode& key, const YamlNode& node);

}  // namespace flotilla
