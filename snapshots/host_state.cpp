#include "snapshots/host_state.hpp"

#include <sstream>

#include <fmt/format.h>

#include "core/shell_quote.hpp"

namespace flotilla {
namespace {
constexpr const char* kSeparator = "--flotilla-missing--";
}

RemoteCommand survey_command(const HostLayout& layout, const std::set<std::string>& sha256s) {
  std::string list;
  for (const auto& h : sha256s) list += h + "\n";
  std::string command = fmt::format(
      "cat -- {} 2>/dev/null; echo; "
      "if [ -f {} ] && ! kill -0 \"$(cat {})\" 2>/dev/null; then echo stopped; fi; echo {}; d={}; "
      "while IFS= read -r h; do [ -f \"$d/$h\" ] || printf '%s\\n' \"$h\"; done",
      shell_quote(layout.state_file()), shell_quote(layout.state_dir() + "/pid"),
      shell_quote(layout.state_dir() + "/pid"), kSeparator, shell_quote(layout.store()));
  return RemoteCommand{std::move(command), std::move(list), std::chrono::seconds(60)};
}

Result<Survey> parse_survey(const std::string& output, const HostLayout& layout) {
  Survey survey;
  std::size_t at = output.find(std::string("\n") + kSeparator + "\n");
  if (at == std::string::npos) {
    return fail(ErrorKind::kFailed, "unexpected answer while reading host state");
  }
  std::string state_text = output.substr(0, at);
  // A supervised process that died leaves its pid file behind: "stopped".
  if (state_text.size() >= 8 && state_text.compare(state_text.size() - 8, 8, "\nstopped") == 0) {
    survey.state.stopped = true;
    state_text.resize(state_text.size() - 8);
  }
  if (state_text.find_first_not_of(" \n\t") != std::string::npos) {
    try {
      survey.state.raw = nlohmann::json::parse(state_text);
      const auto& current = survey.state.raw.value("current", nlohmann::json::object());
      if (current.contains("release") && current["release"].is_string()) {
        survey.state.release = current["release"].get<std::string>();
      }
      survey.state.commit = current.value("commit", "");
      survey.state.branch = current.value("branch", "");
      survey.state.since = current.value("since", "");
    } catch (const std::exception& e) {
      return fail(ErrorKind::kFailed,
                  fmt::format("{} is not valid JSON: {}", layout.state_file(), e.what()));
    }
  }
  std::istringstream rest(output.substr(at + std::string(kSeparator).size() + 2));
  std::string line;
  while (std::getline(rest, line)) {
    if (!line.empty()) survey.missing.push_back(line);
  }
  return survey;
}

}  // namespace flotilla
