#include "playbooks/pipeline_log.hpp"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "core/duration.hpp"

namespace flotilla {

PipelineLog::PipelineLog(std::string state_dir, std::string environment)
    : path_(fmt::format("{}/{}/pipeline.jsonl", state_dir, environment)) {}

Result<void> PipelineLog::append(nlohmann::json step) const {
  if (!step.contains("time")) step["time"] = iso_time_now();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), ec);
  std::ofstream out(path_, std::ios::app);
  out << step.dump() << '\n';
  out.flush();
  if (!out) {
    return fail(ErrorKind::kFailed, fmt::format("could not write {}", path_));
  }
  return {};
}

std::vector<nlohmann::json> PipelineLog::read() const {
  std::vector<nlohmann::json> steps;
  std::ifstream in(path_);
  std::string line;
  while (std::getline(in, line)) {
    auto doc = nlohmann::json::parse(line, nullptr, false);
    if (doc.is_object()) steps.push_back(std::move(doc));
  }
  return steps;
}

}  // namespace flotilla
