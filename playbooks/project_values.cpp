#include "playbooks/project_values.hpp"

#include <cstdlib>
#include <filesystem>
#include <regex>

#include <fmt/format.h>

namespace flotilla {

namespace fs = std::filesystem;

bool is_identifier(const std::string& name) {
  static const std::regex re("[a-z0-9][a-z0-9_-]{0,62}");
  return std::regex_match(name, re);
}

std::string expand_path(const std::string& path, const std::string& base_dir) {
  if (path == "~" || path.starts_with("~/")) {
    const char* home = std::getenv("HOME");
    return std::string(home != nullptr ? home : "") + path.substr(1);
  }
  if (!path.empty() && path[0] == '/') return path;
  return (fs::path(base_dir) / path).lexically_normal().string();
}

bool is_url(const std::string& repo) {
  return repo.find("://") != std::string::npos ||
         (repo.find('@') != std::string::npos && repo.find(':') != std::string::npos);
}

// The name of the first {{var}} that stands inside shell quotes in `text`,
// if any. A command substitution or backticks open a fresh context, as in
// the shell: "$(cat {{dir}}/f)" keeps {{dir}} outside any quotes.
std::optional<std::string> quoted_template(std::string_view text) {
  std::vector<char> contexts = {0};  // 0 plain, '\'', '"', '(' $(...), '`'
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    char in = contexts.back();
    if (in == '\'' && c == '\'') {
      contexts.pop_back();
    } else if (in == '\'' && text.substr(i, 2) != "{{") {
      continue;  // nothing is special inside single quotes
    } else if (c == '\\') {
      ++i;  // an escaped character, never a quote
    } else if (in == '"' && c == '"') {
      contexts.pop_back();
    } else if (c == '$' && i + 1 < text.size() && text[i + 1] == '(') {
      contexts.push_back('(');
      ++i;
    } else if (c == '`') {
      if (in == '`') {
        contexts.pop_back();
      } else {
        contexts.push_back('`');
      }
    } else if (in == '(' && c == ')') {
      contexts.pop_back();
    } else if (in != '"' && (c == '\'' || c == '"')) {
      contexts.push_back(c);
    } else if ((in == '\'' || in == '"') && text.substr(i, 2) == "{{") {
      std::size_t close = text.find("}}", i);
      std::string name(text.substr(i + 2, close == std::string_view::npos ? 0 : close - i - 2));
      name.erase(0, name.find_first_not_of(' '));
      name.erase(name.find_last_not_of(' ') + 1);
      return name;
    }
  }
  return std::nullopt;
}

std::optional<SecretSource> secret_ref(ConfigReader& in_, const YamlNode& node,
                                       const std::string& what, const std::string& base_dir) {
  auto ref = in_.string(node, what);
  if (!ref) return std::nullopt;
  if (ref->starts_with("env:") && ref->size() > 4) {
    return SecretSource{SecretSource::Kind::kEnv, ref->substr(4)};
  }
  if (ref->starts_with("file:") && ref->size() > 5) {
    return SecretSource{SecretSource::Kind::kFile, expand_path(ref->substr(5), base_dir)};
  }
  // Never echo the value: it may be a secret pasted in by mistake.
  in_.error(node, fmt::format("{}: expected 'env:NAME' or 'file:PATH' (a literal value is "
                              "not allowed in the project file)",
                              what));
  return std::nullopt;
}

}  // namespace flotilla
