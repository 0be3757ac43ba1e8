#pragma once

#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace game {

// An append-only JSON-lines file that survives restarts and power loss:
// each record is written and fsync'ed before append() returns, so anything
// a service acknowledged is on disk. A torn last line (a crash mid-write)
// is skipped on load.
class Journal {
 public:
  explicit Journal(std::string path);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Every complete record, oldest first. Call before the first append().
  std::vector<nlohmann::json> load();
  // false when the record could not be made durable.
  bool append(const nlohmann::json& record);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::mutex mutex_;
};

}  // namespace game
