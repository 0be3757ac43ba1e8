#pragma once

#include <string>

#include "core/config_reader.hpp"
#include "playbooks/project.hpp"

namespace flotilla {

// A unit's `analysis:` and `watch:` keys, checked as the project loads:
// every problem is a FILE:LINE:COL error through `in`.
void read_analysis(ConfigReader& in, const YamlNode& node, const std::string& what, Unit& unit);
void read_watch(ConfigReader& in, const YamlNode& node, const std::string& what, Unit& unit);

// The variables an analysis query may use, with placeholder values.
const std::map<std::string, std::string>& analysis_query_variables();

}  // namespace flotilla
