#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/transport.hpp"

namespace flotilla {

// A Transport for unit tests of logic: records every command per host and
// answers from a script. Never a substitute for the sshd integration tests.
class FakeTransport : public Transport {
 public:
  using Responder = std::function<Result<CommandResult>(std::size_t host, const RemoteCommand&)>;

  struct Call {
    std::size_t host;
    RemoteCommand command;
  };

  // Default answer: exit 0 with empty output.
  void respond(Responder responder) { responder_ = std::move(responder); }
  void unreachable(std::size_t host) { unreachable_[host] = true; }

  std::vector<Result<CommandResult>> run(const std::vector<HostTask>& tasks,
                                         const OutputFn& on_output = {}) override {
    std::vector<Result<CommandResult>> results;
    for (const auto& task : tasks) {
      if (cancelled_) {
        results.push_back(
            tl::unexpected(Error{ErrorKind::kInterrupted, "not started: interrupted"}));
        continue;
      }
      calls.push_back({task.host, task.command});
      if (unreachable_[task.host]) {
        results.push_back(
            tl::unexpected(Error{ErrorKind::kUnreachable, "connect: refused (fake)"}));
        continue;
      }
      if (task.command.stdin_sent) task.command.stdin_sent->store(task.command.stdin_size());
      auto result = responder_ ? responder_(task.host, task.command)
                               : Result<CommandResult>(CommandResult{0, "", "", ""});
      if (result && on_output) {
        if (!result->out.empty()) on_output(task.host, false, result->out);
        if (!result->err.empty()) on_output(task.host, true, result->err);
      }
      results.push_back(std::move(result));
    }
    return results;
  }

  void cancel() override { cancelled_ = true; }
  void resume() override { cancelled_ = false; }

  std::vector<Call> calls;

 private:
  Responder responder_;
  std::map<std::size_t, bool> unreachable_;
  bool cancelled_ = false;
};

}  // namespace flotilla
