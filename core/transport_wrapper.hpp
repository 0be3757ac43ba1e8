#pragma once

#include <memory>

#include "core/transport.hpp"

namespace flotilla {

// A Transport that forwards every call to another (leveldb's EnvWrapper is
// the model): a fault injector or a connection with extra duties overrides
// only what it changes. Owns the target when given a unique_ptr.
class TransportWrapper : public Transport {
 public:
  explicit TransportWrapper(Transport& target) : target_(&target) {}
  explicit TransportWrapper(std::unique_ptr<Transport> owned)
      : owned_(std::move(owned)), target_(owned_.get()) {}

  std::vector<Result<CommandResult>> run(const std::vector<HostTask>& tasks,
                                         const OutputFn& on_output = {}) override {
    return target_->run(tasks, on_output);
  }
  void cancel() override { target_->cancel(); }
  void resume() override { target_->resume(); }
  void abandon() override { target_->abandon(); }
  void hold_interrupts() override { target_->hold_interrupts(); }
  void release_interrupts() override { target_->release_interrupts(); }

  Transport& target() { return *target_; }

 private:
  std::unique_ptr<Transport> owned_;
  Transport* target_;
};

}  // namespace flotilla
