#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/duration.hpp"
#include "core/yaml_document.hpp"

namespace flotilla {

// Strict, typed reading of flotilla's own YAML files. Every problem is
// collected as "FILE:LINE:COL: message" so one run reports all of them, and
// nothing acts on a file that has any.
class ConfigReader {
 public:
  explicit ConfigReader(const YamlDocument& document);

  void error(SourceMark mark, const std::string& message);
  void error(const YamlNode& node, const std::string& message) { error(node.mark, message); }
  bool ok() const { return errors_.empty(); }
  const std::vector<std::string>& errors() const { return errors_; }
  const std::string& path() const { return path_; }

  // True if `node` is a mapping; reports unknown keys (with a did-you-mean)
  // and keys that are not plain strings. `what` names the mapping ("units.reward").
  bool check_mapping(const YamlNode& node, std::string_view what,
                     const std::vector<std::string>& allowed);

  // Typed values. Each reports a wrong type, naming `what` and the expected type.
  std::optional<std::string> string(const YamlNode& node, std::string_view what);
  std::optional<bool> boolean(const YamlNode& node, std::string_view what);
  std::optional<long> integer(const YamlNode& node, std::string_view what, long min, long max);
  std::optional<Duration> duration(const YamlNode& node, std::string_view what);
  // A finite number, at least 0 ("0.5", "120"); `unit` names it in the
  // error ("requests per second").
  std::optional<double> non_negative(const YamlNode& node, std::string_view what,
                                     std::string_view unit);
  std::optional<std::vector<std::string>> string_list(const YamlNode& node, std::string_view what);

 private:
  std::string path_;
  std::vector<std::string> errors_;
};

}  // namespace flotilla
