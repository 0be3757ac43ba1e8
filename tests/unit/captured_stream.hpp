#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

// A memory FILE* whose contents a test can read: what a Reporter printed.
struct CapturedStream {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* stream = open_memstream(&buffer, &size);
  ~CapturedStream() {
    std::fclose(stream);
    std::free(buffer);
  }
  std::string text() {
    std::fflush(stream);
    return std::string(buffer, size);
  }
};
