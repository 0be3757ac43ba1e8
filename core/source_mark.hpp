#pragma once

#include <string>

#include <fmt/format.h>

namespace flotilla {

// A position in a file, 1-based as editors and DESIGN.md show it.
struct SourceMark {
  int line = 1;
  int column = 1;
};

// "FILE:LINE:COL: message", the one format for every error found in a file.
inline std::string located(const std::string& file, SourceMark mark, const std::string& message) {
  return fmt::format("{}:{}:{}: {}", file, mark.line, mark.column, message);
}

}  // namespace flotilla
