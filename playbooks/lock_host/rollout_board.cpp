#include "playbooks/lock_host/rollout_board.hpp"

#include <fmt/format.h>

#include "core/command_failure.hpp"
#include "core/script_command.hpp"
#include "core/trim.hpp"
#include "playbooks/host_commands.hpp"

namespace flotilla {

RolloutBoard::RolloutBoard(Transport& transport, std::size_t lock_host, std::string environment)
    : transport_(transport), host_(lock_host), environment_(std::move(environment)) {}

Result<CommandResult> RolloutBoard::run(const std::string& action,
                                        const std::vector<std::string>& args) {
  std::vector<HostTask> tasks{{host_, rollout_board_command(action, environment_, args)}};
  auto results = transport_.run(tasks);
  return std::move(results.front());
}

Result<std::string> RolloutBoard::output_of(const std::string& action,
                                            const std::vector<std::string>& args) {
  auto r = run(action, args);
  if (!r || !r->ok()) {
    return fail(r ? ErrorKind::kFailed : r.error().kind,
                "the lock host's board: " + command_failure(r));
  }
  return trim(r->out);
}

Result<void> RolloutBoard::post(const std::string& unit, const std::string& state) {
  auto r = output_of("post", {unit, state});
  if (!r) return tl::unexpected(r.error());
  return {};
}

Result<std::optional<BoardDecision>> RolloutBoard::read() {
  auto r = output_of("read", {});
  if (!r) return tl::unexpected(r.error());
  const std::string& line = *r;
  if (line.empty()) return std::optional<BoardDecision>();
  auto space = line.find(' ');
  BoardDecision d{line.substr(0, space), space == std::string::npos ? "" : line.substr(space + 1)};
  if (d.word != "resume" && d.word != "abort" && d.word != "end-watch") {
    return fail(ErrorKind::kFailed, "the lock host's board holds an unknown decision");
  }
  return std::optional<BoardDecision>(d);
}

Result<void> RolloutBoard::clear() {
  auto r = output_of("clear", {});
  if (!r) return tl::unexpected(r.error());
  return {};
}

Result<void> RolloutBoard::decide(const std::string& unit, const std::string& word,
                                  const std::string& by) {
  auto r = run("decide", {unit, word, by});
  if (r && exited_with(*r, HostExit::kNotWaiting)) {
    std::string what = trim(r->err);
    return fail(ErrorKind::kFailed,
                fmt::format("no rollout of {} in {} waits for {} (the lock host's board: {})", unit,
                            environment_, word == "end-watch" ? "the end of a watch" : word,
                            what == "nothing" ? "nothing waits" : what.substr(0, 80)));
  }
  if (!r || !r->ok()) {
    return fail(r ? ErrorKind::kFailed : r.error().kind,
                "the lock host's board: " + command_failure(r));
  }
  return {};
}

Result<std::optional<std::string>> RolloutBoard::waiting() {
  auto r = output_of("show", {});
  if (!r) return tl::unexpected(r.error());
  if (r->empty()) return std::optional<std::string>();
  return std::optional<std::string>(*r);
}

}  // namespace flotilla
