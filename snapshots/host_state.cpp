#include "snapshots/host_state.hpp"

#include <cctype>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "core/base64.hpp"
#include "core/host_json.hpp"
#include "core/script_command.hpp"

namespace flotilla {
namespace {

// The sections of host_scripts/survey.sh's answer, one line each.
constexpr const char* kSections[] = {"state",   "status",  "releases",
                                     "configs", "history", "missing"};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// A release id or config digest as flotilla names them: a host's listing
// holds nothing else worth reading (and never a path).
bool is_version_name(const std::string& name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

}  // namespace

RemoteCommand survey_command(const HostLayout& layout, const std::set<std::string>& sha256s,
                             const std::optional<HealthProbe>& probe) {
  std::string list;
  for (const auto& h : sha256s) list += h + "\n";
  std::vector<std::string> args = {layout.deploy_to};
  if (probe) {
    args.push_back(fmt::format("{:.3f}", probe->seconds));
    args.push_back(probe->command);
  }
  return script_command(HostScript::kSurvey, args, std::move(list),
                        std::chrono::seconds(60) +
                            std::chrono::seconds(static_cast<long>(probe ? probe->seconds : 0)));
}

namespace {

using Sections = std::map<std::string, std::string>;

// survey.sh's "NAME BASE64" lines, each section once, every required one there.
Result<Sections> survey_sections(const std::string& output) {
  Sections section;
  for (const auto& line : lines_of(output)) {
    auto space = line.find(' ');
    std::string name = line.substr(0, space);
    auto decoded = base64_decode(space == std::string::npos ? "" : line.substr(space + 1));
    if (!decoded || section.count(name)) {
      return fail(ErrorKind::kFailed, "unexpected answer while reading host state");
    }
    section[name] = std::move(*decoded);
  }
  for (const char* name : kSections) {
    if (!section.count(name)) {
      return fail(ErrorKind::kFailed, "unexpected answer while reading host state");
    }
  }
  return section;
}

// The state file: what flotilla last recorded this host as running.
Result<void> read_state_file(const std::string& text, const HostLayout& layout, HostState& state) {
  if (text.find_first_not_of(" \n\t") == std::string::npos) return {};
  auto raw = parse_host_json(text, layout.state_file());
  if (!raw) return tl::unexpected(raw.error());
  if (!raw->is_object()) {
    return fail(ErrorKind::kFailed, fmt::format("{} is not a JSON object", layout.state_file()));
  }
  state.raw = std::move(*raw);
  try {
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
    state.failed = current.value("failed", false);
  } catch (const std::exception& e) {
    return fail(ErrorKind::kFailed,
                fmt::format("{} is not a flotilla state: {}", layout.state_file(), e.what()));
  }
  return {};
}

// The links and markers survey.sh saw: stopped, current, config, secrets.
void read_status(const std::string& text, HostState& state) {
  for (const auto& line : lines_of(text)) {
    if (line == "stopped") state.stopped = true;
    if (line == "current-not-a-link") state.current_not_link = true;
    if (line.rfind("current ", 0) == 0) state.current_link = line.substr(8);
    if (line.rfind("config ", 0) == 0) state.config_link = line.substr(7);
    if (line.rfind("secrets ", 0) == 0) {
      std::string link = line.substr(8);
      state.secrets = link.substr(link.rfind('/') == std::string::npos ? 0 : link.rfind('/') + 1);
    }
  }
}

// The host's copy of the history: a torn last line (the host lost power
// mid-append), or a line that is not a snapshot, is skipped, not fatal. A
// later line for the same snapshot stands over an earlier one: the
// activation wrote the first, and a change that then failed wrote how it
// ended.
void read_history(const std::string& text, const HostLayout& layout, HostState& state) {
  std::string history_file = layout.state_dir() + "/history.jsonl";
  for (const auto& line : lines_of(text)) {
    auto doc = parse_host_json(line, history_file);
    if (!doc) continue;
    auto snapshot = Snapshot::from_json(*doc, history_file);
    if (!snapshot) continue;
    std::erase_if(state.history, [&](const Snapshot& s) { return s.id == snapshot->id; });
    state.history.push_back(std::move(*snapshot));
  }
}

}  // namespace

Result<Survey> parse_survey(const std::string& output, const HostLayout& layout) {
  auto section = survey_sections(output);
  if (!section) return tl::unexpected(section.error());
  Survey survey;
  HostState& state = survey.state;
  if (auto read = read_state_file((*section)["state"], layout, state); !read) {
    return tl::unexpected(read.error());
  }
  read_status((*section)["status"], state);
  for (const auto& line : lines_of((*section)["releases"])) {
    if (is_version_name(line)) state.releases.insert(line);
  }
  for (const auto& line : lines_of((*section)["configs"])) {
    if (is_version_name(line)) state.configs.insert(line);
  }
  read_history((*section)["history"], layout, state);
  // Optional: a survey made without it says nothing of processes.
  if (auto processes = section->find("processes"); processes != section->end()) {
    state.processes = RunningProcesses::parse(processes->second);
    // A marked start with no live process has stopped, whatever files say.
    if (!state.processes.run.empty() &&
        !observe_release(state.processes, /*supervised=*/true).running) {
      state.stopped = true;
    }
  }
  if (auto health = section->find("health"); health != section->end()) {
    survey.healthy = health->second == "ok\n";
  }
  for (const auto& line : lines_of((*section)["missing"])) {
    if (line.size() <= 64 && line.find_first_not_of("0123456789abcdef") == std::string::npos) {
      survey.missing.push_back(line);
    }
  }
  return survey;
}

std::vector<Result<Survey>> survey_hosts(
    Transport& transport, const std::vector<std::size_t>& indexes, const HostLayout& layout,
    const std::set<std::string>& sha256s, const std::map<std::size_t, HealthProbe>& probes,
    const std::vector<HostTask>& alongside, std::vector<Result<CommandResult>>* alongside_results) {
  std::vector<HostTask> tasks;
  for (std::size_t i : indexes) {
    auto probe = probes.find(i);
    tasks.push_back(
        {i, survey_command(layout, sha256s,
                           probe == probes.end() ? std::nullopt : std::optional(probe->second))});
  }
  tasks.insert(tasks.end(), alongside.begin(), alongside.end());
  auto results = transport.run(tasks);
  if (alongside_results != nullptr) {
    alongside_results->assign(results.begin() + static_cast<std::ptrdiff_t>(indexes.size()),
                              results.end());
  }
  results.erase(results.begin() + static_cast<std::ptrdiff_t>(indexes.size()), results.end());
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
