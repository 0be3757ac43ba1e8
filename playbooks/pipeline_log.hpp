#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace flotilla {

// What the pipeline's steps did in one environment, oldest first: every
// `sync`, run by a person, a timer or CI, including those that changed
// nothing (already in sync) or were skipped (frozen) or refused, which no
// snapshot records. One JSON object per line in
// STATE_DIR/ENV/pipeline.jsonl: {"time", "step", "outcome", "reason",
// "from", "release", "units"}.
class PipelineLog {
 public:
  PipelineLog(std::string state_dir, std::string environment);

  // Appends one step; "time" is added when missing.
  Result<void> append(nlohmann::json step) const;

  // Every step, oldest first (lines that are not objects are skipped).
  std::vector<nlohmann::json> read() const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace flotilla
