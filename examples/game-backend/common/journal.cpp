#include "common/journal.hpp"

#include <unistd.h>

#include <fstream>

namespace game {

Journal::Journal(std::string path) : path_(std::move(path)) {}

Journal::~Journal() {
  if (file_ != nullptr) std::fclose(file_);
}

std::vector<nlohmann::json> Journal::load() {
  std::vector<nlohmann::json> records;
  std::ifstream in(path_);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      records.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception&) {
      // torn last line: never acknowledged, so nothing is lost by skipping it
    }
  }
  return records;
}

bool Journal::append(const nlohmann::json& record) {
  std::lock_guard lock(mutex_);
  if (file_ == nullptr) file_ = std::fopen(path_.c_str(), "a");
  if (file_ == nullptr) return false;
  std::string line = record.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) return false;
  if (std::fflush(file_) != 0) return false;
  return ::fsync(::fileno(file_)) == 0;
}

}  // namespace game
