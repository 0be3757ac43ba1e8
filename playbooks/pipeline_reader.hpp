#pragma once

#include <string>

#include "core/config_reader.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

// The pipeline's keys, checked as the project loads; every problem is a
// FILE:LINE:COL error through `in`.

// An environment's `follows:`, `load_test:` and `require_soak:`.
void read_follows(ConfigReader& in, const YamlNode& node, const std::string& what,
                  Environment& env);
void read_require_soak(ConfigReader& in, const YamlNode& node, const std::string& what,
                       Environment& env);
// An environment's or a unit's `load_test:`.
std::optional<LoadTestSpec> read_load_test(ConfigReader& in, const YamlNode& node,
                                           const std::string& what);
// The project's `schedule:` list.
void read_schedule(ConfigReader& in, const YamlNode& node, Project& project);

// Once every environment is read: the names the keys point at exist, no
// environment follows or soaks in itself, follows make no cycle, and a
// scheduled `sync` has a `follows:` to sync from.
void check_pipeline(ConfigReader& in, const Project& project);

}  // namespace flotilla
