#include "snapshots/host_state.hpp"

#include <map>
#include <sstream>

#include <fmt/format.h>

#include "core/script_command.hpp"

namespace flotilla {
namespace {

// Sections of host_scripts/survey.sh's answer, each after a line "--flotilla:NAME--".
constexpr const char* kSections[] = {"state",   "status",  "releases",
                                     "configs", "history", "missing"};

std::string marker(const char* name) { return fmt::format("--flotilla:{}--", name); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace

RemoteCommand survey_command(const HostLayout& layout, const std::set<std::string>& sha256s) {
  std::string list;
  for (const auto& h : sha256s) list += h + "\n";
  return script_command(HostScript::kSurvey, {layout.deploy_to}, std::move(list),
                        std::chrono::seconds(60));
}

Result<Survey> parse_survey(const std::string& output, const HostLayout& layout) {
  std::map<std::string, std::string> section;
  std::size_t pos = 0;
  const char* previous = nullptr;
  for (const char* name : kSections) {
    std::string m = marker(name) + "\n";
    std::size_t at = output.find(m, pos);
    if (at == std::string::npos) {
      return fail(ErrorKind::kFailed, "unexpected answer while reading host state");
    }
    if (previous != nullptr) section[previous] = output.substr(pos, at - pos);
    previous = name;
    pos = at + m.size();
  }
  section["missing"] = output.substr(pos);

  Survey survey;
  HostState& state = survey.state;
  const std::string& state_text = section["state"];
  if (state_text.find_first_not_of(" \n\t") != std::string::npos) {
    try {
      state.raw = nlohmann::json::parse(state_text);
      const auto& current = state.raw.value("current", nlohmann::json::object());
      if (current.contains("release") && current["release"].is_string() &&
          !current["release"].get<std::string>().empty()) {
        state.release = current["release"].get<std::string>();
      }
      state.config = current.value("config", "");
      state.commit = current.value("commit", "");
      state.branch = current.value("branch", "");
      state.since = current.value("since", "");
      state.snapshot = current.value("snapshot", 0L);
    } catch (const std::exception& e) {
      return fail(ErrorKind::kFailed,
                  fmt::format("{} is not valid JSON: {}", layout.state_file(), e.what()));
    }
  }
  for (const auto& line : lines_of(section["status"])) {
    if (line == "stopped") state.stopped = true;
    if (line.rfind("current ", 0) == 0) state.current_link = line.substr(8);
    if (line.rfind("config ", 0) == 0) state.config_link = line.substr(7);
    if (line.rfind("secrets ", 0) == 0) {
      std::string link = line.substr(8);
      state.secrets = link.substr(link.rfind('/') == std::string::npos ? 0 : link.rfind('/') + 1);
    }
  }
  for (const auto& line : lines_of(section["releases"])) {
    if (line[0] != '.') state.releases.insert(line);
  }
  for (const auto& line : lines_of(section["configs"])) {
    if (line[0] != '.') state.configs.insert(line);
  }
  std::string history_file = layout.state_dir() + "/history.jsonl";
  for (const auto& line : lines_of(section["history"])) {
    try {
      auto snapshot = Snapshot::from_json(nlohmann::json::parse(line), history_file);
      if (snapshot) state.history.push_back(std::move(*snapshot));
    } catch (const std::exception&) {
      // A torn last line (the host lost power mid-append) is skipped, not fatal.
    }
  }
  survey.missing = lines_of(section["missing"]);
  return survey;
}

std::vector<Result<Survey>> survey_hosts(Transport& transport,
                                         const std::vector<std::size_t>& indexes,
                                         const HostLayout& layout,
                                         const std::set<std::string>& sha256s) {
  std::vector<HostTask> tasks;
  for (std::size_t i : indexes) tasks.push_back({i, survey_command(layout, sha256s)});
  auto results = transport.run(tasks);
  std::vector<Result<Survey>> surveys;
  for (const auto& r : results) {
    if (!r) {
      surveys.push_back(tl::unexpected(r.error()));
    } else if (!r->ok()) {
      surveys.push_back(fail(ErrorKind::kFailed, fmt::format("survey failed: {}", r->err)));
    } else {
      surveys.push_back(parse_survey(r->out, layout));
    }
  }
  return surveys;
}

}  // namespace flotilla
