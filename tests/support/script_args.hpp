#pragma once

#include <string>
#include <vector>

namespace flotilla::test {

// The words of a command line built with shell_quote (POSIX single quotes,
// '\'' for a quote), as the remote shell would split them.
inline std::vector<std::string> shell_words(const std::string& line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false, quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '\'') {
        quoted = false;
      } else {
        word += c;
      }
    } else if (c == '\'') {
      quoted = in_word = true;
    } else if (c == '\\' && i + 1 < line.size()) {
      word += line[++i];
      in_word = true;
    } else if (c == ' ') {
      if (in_word) words.push_back(word);
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(word);
  return words;
}

// A host script's positional arguments: what follows `sh -c SCRIPT flotilla`.
inline std::vector<std::string> script_args(const std::string& command) {
  auto words = shell_words(command);
  return words.size() > 4 ? std::vector<std::string>(words.begin() + 4, words.end())
                          : std::vector<std::string>();
}

// The value after `--name` in an activate.sh argument list ("" if absent).
inline std::string option_value(const std::vector<std::string>& args, const std::string& name) {
  for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
    if (args[i] == name) return args[i + 1];
  }
  return "";
}

}  // namespace flotilla::test
