#include "playbooks/fleet_doctor.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "inventory/host_pattern.hpp"
#include "playbooks/artifact_build.hpp"
#include "playbooks/change/targets.hpp"
#include "playbooks/host_commands.hpp"
#include "playbooks/lock_host/lock_host.hpp"

namespace flotilla {
namespace {

// What the host scripts run, beyond the shell's builtins (`curl` is asked
// only where something uses it).
const std::vector<std::string> kScriptTools = {
    "sh",       "tar",  "hash", "setsid", "awk", "mkfifo", "base64", "timeout",
    "xargs",    "find", "sed",  "tr",     "cut", "sort",   "head",   "tail",
    "readlink", "od",   "stat", "mktemp", "df",  "du",     "date",   "kill"};

// The Debian package that brings each tool, for the fix.
std::string package_of(const std::string& tool) {
  static const std::map<std::string, std::string> packages = {
      {"sh", "dash"},   {"tar", "tar"},         {"hash", "coreutils"}, {"setsid", "util-linux"},
      {"awk", "mawk"},  {"xargs", "findutils"}, {"find", "findutils"}, {"sed", "sed"},
      {"curl", "curl"}, {"kill", "procps"},     {"df", "coreutils"}};
  auto it = packages.find(tool);
  return it == packages.end() ? "coreutils" : it->second;
}

std::string tool_name(const std::string& tool) {
  return tool == "hash" ? "sha256sum (or openssl)" : tool;
}

bool mentions_curl(const std::string& command) { return command.find("curl") != std::string::npos; }

// Why a unit needs curl on its hosts, if it does.
std::vector<std::string> curl_reasons(const Project& project, const Unit& unit) {
  std::vector<std::string> why;
  if (project.artifacts) why.push_back("registry pull");
  if (unit.health && mentions_curl(unit.health->command)) why.push_back("health check");
  for (const std::string* command : {&unit.run, &unit.start, &unit.stop, &unit.reload}) {
    if (mentions_curl(*command)) {
      why.push_back("commands");
      break;
    }
  }
  return why;
}

void add_unique(std::vector<std::string>& to, const std::string& value) {
  if (std::find(to.begin(), to.end(), value) == to.end()) to.push_back(value);
}

// A host's number, only when it is one we can compute with: not negative,
// and small enough that doubling or subtracting it cannot overflow.
std::optional<std::int64_t> parse_integer(const std::string& text) {
  constexpr std::int64_t kLargest = std::int64_t{1} << 50;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (value < 0 || value > kLargest) return std::nullopt;
  return value;
}

// "1733284800.123456789" (or without the fraction: a date without %N) to whole seconds.
std::optional<std::int64_t> parse_clock(const std::string& text) {
  return parse_integer(text.substr(0, text.find('.')));
}

std::string mib(std::int64_t kb) { return fmt::format("{} MiB", kb / 1024); }

struct AnswerReader {
  const DoctorQuestion& question;
  DoctorFindings& findings;
  RoundTripTimes times;
  std::vector<bool> dirs_seen;
  std::vector<bool> sockets_seen;
  bool lock_seen = false;

  void problem(std::string check, std::string what, std::string fix) {
    findings.problems.push_back({std::move(check), std::move(what), std::move(fix)});
  }

  void garbage(const std::string& line) {
    problem("answer", fmt::format("answered the doctor with an unreadable line: {:.80}", line),
            "check what the login shell prints (~/.bashrc, /etc/profile) and that /bin/sh is a "
            "POSIX shell");
  }

  void clock(const std::string& value) {
    auto host = parse_clock(value);
    if (!host) return garbage("time " + value);
    std::int64_t skew = 0;
    if (*host < times.before) skew = *host - times.before;
    if (*host > times.after) skew = *host - times.after;
    findings.clock_skew = skew;
    if (std::llabs(skew) <= kClockTolerance) return;
    problem("clock",
            fmt::format("its clock is {}s {} this controller's", std::llabs(skew),
                        skew > 0 ? "ahead of" : "behind"),
            "run NTP on it (systemd-timesyncd or chrony): freeze windows, soak times and "
            "record times are read from clocks");
  }

  void tool(const std::string& name, const std::string& state) {
    if (std::find(question.tools.begin(), question.tools.end(), name) == question.tools.end())
      return garbage("tool " + name);
    if (state == "ok") return;
    if (state != "missing") return garbage("tool " + name + " " + state);
    std::string why = name == "curl" && !question.curl_because.empty()
                          ? fmt::format(" ({} uses it)", fmt::join(question.curl_because, ", "))
                          : std::string(" (the host scripts use it)");
    problem("tool", fmt::format("{} is missing{}", tool_name(name), why),
            fmt::format("install it: apt-get install {}", package_of(name)));
  }

  void dir(std::istringstream& in) {
    std::string index_text, state, free_text, release_text;
    in >> index_text >> state >> free_text >> release_text;
    auto index = parse_integer(index_text);
    auto free_kb = parse_integer(free_text);
    auto release_kb = parse_integer(release_text);
    if (!index || !free_kb || !release_kb || *index < 0 ||
        static_cast<std::size_t>(*index) >= question.dirs.size())
      return garbage("dir " + index_text);
    dirs_seen[static_cast<std::size_t>(*index)] = true;
    const std::string& path = question.dirs[static_cast<std::size_t>(*index)];
    const std::string& units = question.units_of_dir[static_cast<std::size_t>(*index)];
    if (state == "not-writable") {
      problem("deploy_to",
              fmt::format("{} (deploy_to of {}) cannot be written by the login user", path, units),
              fmt::format("create it for that user: sudo install -d -o USER {}", path));
    } else if (state == "not-a-directory") {
      problem("deploy_to", fmt::format("{} (deploy_to of {}) is not a directory", path, units),
              "move it away, or choose another deploy_to");
    } else if (state != "ok") {
      return garbage("dir " + state);
    }
    std::int64_t artifact_kb = artifact_kb_of(static_cast<std::size_t>(*index));
    std::int64_t needed = std::max(kMinimumFreeKb, 2 * std::max(*release_kb, artifact_kb));
    if (*free_kb < needed) {
      problem("disk",
              fmt::format("{} has {} free; a deploy of {} needs about {}", path, mib(*free_kb),
                          units, mib(needed)),
              *release_kb > 0 ? "free space there (old releases: keep_releases), or move deploy_to"
                              : "free space there, or move deploy_to to a larger file system");
    }
  }

  std::int64_t artifact_kb_of(std::size_t dir) const {
    return dir < question.artifact_kb.size() ? question.artifact_kb[dir] : 0;
  }

  void lock(const std::string& state) {
    if (!question.lock_host || (state != "ok" && state != "not-writable"))
      return garbage("lock " + state);
    lock_seen = true;
    if (state == "ok") return;
    problem("lock", "~/.flotilla cannot be written: this lock host keeps the deploy lock there",
            "give the login user its home directory back (chown), or choose another lock_host");
  }

  void socket(const std::string& index_text, const std::string& state) {
    auto index = parse_integer(index_text);
    if (!index || *index < 0 || static_cast<std::size_t>(*index) >= question.sockets.size())
      return garbage("socket " + index_text);
    sockets_seen[static_cast<std::size_t>(*index)] = true;
    const std::string& path = question.sockets[static_cast<std::size_t>(*index)];
    const std::string& units = question.units_of_socket[static_cast<std::size_t>(*index)];
    const std::string enable = fmt::format(
        "add `stats socket {} mode 600 level admin` to haproxy.cfg's global section (as the "
        "login user's group, or log in as haproxy's user) and reload haproxy",
        path);
    if (state == "missing") {
      problem("balancer",
              fmt::format("no HAProxy runtime API socket at {} (balancer of {})", path, units),
              enable);
    } else if (state == "not-a-socket") {
      problem("balancer", fmt::format("{} (balancer of {}) is not a socket", path, units), enable);
    } else if (state == "no-client") {
      problem("balancer",
              fmt::format("neither socat nor nc can talk to {} (balancer of {})", path, units),
              "install it: apt-get install socat");
    } else if (state != "ok") {
      garbage("socket " + index_text + " " + state);
    }
  }

  void read(const std::string& out) {
    dirs_seen.assign(question.dirs.size(), false);
    sockets_seen.assign(question.sockets.size(), false);
    std::istringstream lines(out);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream in(line);
      std::string word, a, b;
      in >> word;
      if (word == "time" && in >> a) {
        clock(a);
      } else if (word == "tool" && in >> a >> b) {
        tool(a, b);
      } else if (word == "dir") {
        dir(in);
      } else if (word == "lock" && in >> a) {
        lock(a);
      } else if (word == "socket" && in >> a >> b) {
        socket(a, b);
      } else if (!line.empty()) {
        garbage(line);
      }
    }
    bool complete =
        std::all_of(dirs_seen.begin(), dirs_seen.end(), [](bool b) { return b; }) &&
        std::all_of(sockets_seen.begin(), sockets_seen.end(), [](bool b) { return b; }) &&
        (!question.lock_host || lock_seen) && findings.clock_skew;
    if (!complete)
      problem("answer", "its answer stopped short",
              "run `flotilla exec -l HOST -- true` to see what its login prints");
  }
};

std::string reach_fix(const std::string& message) {
  if (message.find("unknown host key") != std::string::npos)
    return "check its fingerprint out of band, then add it to known_hosts (ssh-keyscan), or "
           "deploy once with --accept-new-host-keys";
  if (message.find("HOST KEY CHANGED") != std::string::npos)
    return "if the host was rebuilt, check the new key and replace the old one (ssh-keygen -R); "
           "otherwise someone may be in the middle";
  if (message.find("authentic") != std::string::npos)
    return "check the user and key (`flotilla inventory list` shows them) and authorized_keys";
  return "check its address, port and sshd (`flotilla inventory list` shows where it is "
         "reached)";
}

}  // namespace

DoctorFindings judge_doctor_answer(const DoctorQuestion& question,
                                   const Result<CommandResult>& answer, RoundTripTimes times) {
  DoctorFindings findings;
  findings.host = question.host;
  findings.lock_host = question.lock_host;
  if (!answer) {
    findings.problems.push_back(
        {"reach", answer.error().message, reach_fix(answer.error().message)});
    return findings;
  }
  findings.reachable = true;
  if (!answer->ok()) {
    std::string first = answer->err.substr(0, answer->err.find('\n'));
    findings.problems.push_back(
        {"answer",
         fmt::format("the doctor's script failed (exit {}): {:.120}", answer->exit_status, first),
         "check that /bin/sh is a POSIX shell and the login shell starts cleanly"});
    return findings;
  }
  AnswerReader reader{question, findings, times, {}, {}, false};
  reader.read(answer->out);
  return findings;
}

Result<DoctorRound> doctor_questions(const Targets& targets) {
  const Project& project = *targets.project;
  const auto& inventory_hosts = targets.inventory.inventory.hosts();
  ArtifactStore store = artifact_store(project);
  std::map<std::size_t, DoctorQuestion> by_host;
  for (const Unit& unit : project.units) {
    auto hosts = unit_hosts(targets, unit);
    if (!hosts) continue;  // a unit with no hosts here
    std::vector<std::string> curl = curl_reasons(project, unit);
    auto built = store.newest_size(unit.name);
    std::int64_t artifact_kb = built ? static_cast<std::int64_t>(*built / 1024) : 0;
    for (std::size_t h : *hosts) {
      DoctorQuestion& q = by_host[h];
      q.host = inventory_hosts[h].name;
      for (const auto& tool : kScriptTools) add_unique(q.tools, tool);
      if (!curl.empty()) add_unique(q.tools, "curl");
      for (const auto& why : curl)
        add_unique(q.curl_because, fmt::format("{}'s {}", unit.name, why));
      auto at = std::find(q.dirs.begin(), q.dirs.end(), unit.deploy_to);
      if (at == q.dirs.end()) {
        q.dirs.push_back(unit.deploy_to);
        q.units_of_dir.push_back(unit.name);
        q.artifact_kb.push_back(artifact_kb);
      } else {
        auto i = static_cast<std::size_t>(at - q.dirs.begin());
        q.units_of_dir[i] += ", " + unit.name;
        q.artifact_kb[i] = std::max(q.artifact_kb[i], artifact_kb);
      }
    }
  }
  // Each unit's balancer hosts (whatever --limit says: they serve the
  // whole unit): the runtime API socket flotilla will drive.
  for (const Unit& unit : project.units) {
    if (!unit.balancer || !unit_hosts(targets, unit)) continue;
    auto balancers = match_hosts(targets.inventory.inventory, unit.balancer->hosts);
    if (!balancers) return tl::unexpected(balancers.error());
    for (std::size_t h : *balancers) {
      DoctorQuestion& q = by_host[h];
      q.host = inventory_hosts[h].name;
      auto at = std::find(q.sockets.begin(), q.sockets.end(), unit.balancer->socket);
      if (at == q.sockets.end()) {
        q.sockets.push_back(unit.balancer->socket);
        q.units_of_socket.push_back(unit.name);
      } else {
        q.units_of_socket[static_cast<std::size_t>(at - q.sockets.begin())] += ", " + unit.name;
      }
    }
  }
  auto lock = lock_host_of(targets);
  if (!lock) return tl::unexpected(lock.error());
  DoctorQuestion& lock_question = by_host[*lock];
  lock_question.host = inventory_hosts[*lock].name;
  lock_question.lock_host = true;
  if (lock_question.tools.empty()) lock_question.tools = {"sh", "mktemp", "date"};
  DoctorRound round;
  for (auto& [host, question] : by_host) {
    if (question.tools.empty()) question.tools = {"sh", "date"};  // a balancer host only
    round.hosts.push_back(host);
    round.questions.push_back(std::move(question));
  }
  return round;
}

Result<std::vector<DoctorFindings>> examine_fleet(const Targets& targets, const ConnectFn& connect,
                                                  Clock& clock) {
  auto round = doctor_questions(targets);
  if (!round) return tl::unexpected(round.error());
  auto transport = connect(targets, round->hosts);
  if (!transport) return tl::unexpected(transport.error());
  std::vector<HostTask> tasks;
  for (std::size_t i = 0; i < round->questions.size(); ++i) {
    const DoctorQuestion& q = round->questions[i];
    tasks.push_back({i, doctor_command(q.lock_host, q.tools, q.dirs, q.sockets)});
  }
  RoundTripTimes times{.before = clock.wall_seconds()};
  auto answers = (*transport)->run(tasks);
  times.after = clock.wall_seconds();
  std::vector<DoctorFindings> findings;
  for (std::size_t i = 0; i < round->questions.size(); ++i)
    findings.push_back(judge_doctor_answer(round->questions[i], answers[i], times));
  return findings;
}

nlohmann::json doctor_json(const std::vector<DoctorFindings>& findings) {
  nlohmann::json hosts = nlohmann::json::array();
  std::size_t problems = 0;
  for (const auto& f : findings) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& p : f.problems)
      list.push_back({{"check", p.check}, {"problem", p.problem}, {"fix", p.fix}});
    problems += f.problems.size();
    hosts.push_back({{"host", f.host},
                     {"lock_host", f.lock_host},
                     {"reachable", f.reachable},
                     {"clock_skew_seconds", f.clock_skew ? nlohmann::json(*f.clock_skew) : nullptr},
                     {"problems", list}});
  }
  return {{"hosts", hosts}, {"problems", problems}, {"ready", problems == 0}};
}

}  // namespace flotilla
