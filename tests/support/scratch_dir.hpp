#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace flotilla {

// A fresh directory under /tmp for one test, removed when it goes out of scope.
struct ScratchDir {
  std::filesystem::path path;

  ScratchDir() {
    char pattern[] = "/tmp/flotilla-test-XXXXXX";
    path = ::mkdtemp(pattern);
  }
  ~ScratchDir() { std::filesystem::remove_all(path); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  // Writes `text` to a file below the directory, creating its parents.
  std::filesystem::path write(const std::string& relative, const std::string& text) const {
    std::filesystem::path file = path / relative;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }
};

}  // namespace flotilla
