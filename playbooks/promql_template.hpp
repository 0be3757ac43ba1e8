#pragma once

#include <map>
#include <string>

#include "core/error.hpp"

namespace flotilla {

// A PromQL query with {{variables}} that may stand only inside a quoted
// label value (host="{{host}}", host=~"{{host}}"): each is substituted
// escaped as a string literal (and, after =~ or !~, as a literal inside
// the regular expression), so no value can end the string and add to the
// query. Anywhere else a variable is an error.

// Where the query's variables stand wrong, or names one not in `known`:
// the reason ("" when the query is fine).
std::string promql_template_problem(const std::string& query,
                                    const std::map<std::string, std::string>& known);

// The query with its variables substituted; kBadInput as above.
Result<std::string> render_promql(const std::string& query,
                                  const std::map<std::string, std::string>& values);

}  // namespace flotilla
