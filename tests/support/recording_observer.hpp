#pragma once

#include <string>
#include <vector>

#include <fmt/format.h>

#include "playbooks/rollout.hpp"

namespace flotilla::test {

// A rollout observer that writes down what it was told, one short line per
// call ("batch 1 started", "h1 done ok", "baking 3600000ms"), so a test can
// check the order of what a rollout said.
class RecordingObserver final : public RolloutObserver {
 public:
  void push_started(std::size_t hosts, const std::vector<PushProgress::Host>&) override {
    said.push_back(fmt::format("push to {}", hosts));
  }
  void batch_started(std::size_t index, std::size_t, const Batch& batch) override {
    said.push_back(fmt::format("batch {} started{}", index + 1, batch.canary ? " (canary)" : ""));
  }
  void host_done(const std::string& host, bool ok, const std::string&,
                 const Result<CommandResult>*) override {
    said.push_back(fmt::format("{} done {}", host, ok ? "ok" : "failed"));
  }
  void batch_done(std::size_t index, std::size_t failed) override {
    said.push_back(fmt::format("batch {} done, {} failed", index + 1, failed));
  }
  void rollback_started(std::size_t batch, const std::vector<std::string>&) override {
    said.push_back(fmt::format("rolling back batch {}", batch + 1));
  }
  void host_rolled_back(const std::string& host, bool ok, const Result<CommandResult>&) override {
    said.push_back(fmt::format("{} rolled back {}", host, ok ? "ok" : "failed"));
  }
  void baking(Duration bake) override { said.push_back(fmt::format("baking {}ms", bake.count())); }
  void rollout_done(const RolloutResult& result) override {
    said.push_back(fmt::format("done {}", result.ok ? "ok" : "failed"));
  }
  std::vector<std::string> said;
};

}  // namespace flotilla::test
