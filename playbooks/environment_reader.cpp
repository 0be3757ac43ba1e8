#include "playbooks/environment_reader.hpp"

#include <algorithm>
#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "core/did_you_mean.hpp"
#include "core/time_zone.hpp"
#include "playbooks/pipeline_reader.hpp"
#include "playbooks/project_values.hpp"

namespace flotilla {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kRehearsalKeys = {"in", "max_age"};
const std::vector<std::string> kFreezeKeys = {"from", "to", "weekly", "tz", "reason"};
const std::vector<std::string> kEnvKeys = {
    "inventory", "branches", "require_ticket",    "lock_host",
    "approvals", "freeze",   "require_rehearsal", "hotfix_requires_rehearsal",
    "recorders", "follows",  "load_test",         "require_soak"};

class EnvironmentReader {
 public:
  EnvironmentReader(ConfigReader& in, Project& project) : in_(in), project_(project) {}

  void read_environment(const YamlNode& key, const YamlNode& node) {
    Environment env;
    env.name = key.scalar;
    env.mark = key.mark;
    std::string what = "environments." + env.name;
    if (!is_identifier(env.name)) {
      in_.error(key,
                fmt::format("environment name '{}' must be lowercase letters, digits, '-' or '_'",
                            env.name));
    }
    env.branches = {"*"};
    if (!in_.check_mapping(node, what, kEnvKeys)) return;
    if (auto* n = node.find("inventory")) {
      if (auto s = in_.string(*n, what + ".inventory")) {
        env.inventory = expand_path(*s, project_.dir);
        // A file, or a directory of them as Ansible reads one.
        if (!fs::exists(env.inventory)) {
          in_.error(
              *n, fmt::format("{}.inventory: no such file or directory: {}", what, env.inventory));
        }
      }
    } else {
      in_.error(node, fmt::format("{}: missing key 'inventory'", what));
    }
    if (auto* n = node.find("branches")) {
      if (auto list = in_.string_list(*n, what + ".branches")) env.branches = *list;
    }
    if (auto* n = node.find("require_ticket")) {
      if (auto b = in_.boolean(*n, what + ".require_ticket")) env.require_ticket = *b;
    }
    if (auto* n = node.find("lock_host")) {
      if (auto s = in_.string(*n, what + ".lock_host")) env.lock_host = *s;
    }
    if (auto* n = node.find("approvals")) {
      if (auto v = in_.integer(*n, what + ".approvals", 0, 20)) env.approvals = *v;
    }
    if (auto* n = node.find("require_rehearsal")) {
      if (in_.check_mapping(*n, what + ".require_rehearsal", kRehearsalKeys)) {
        RehearsalRule rule;
        if (const YamlNode* in = n->find("in")) {
          rule.mark = in->mark;
          if (auto s = in_.string(*in, what + ".require_rehearsal.in")) rule.in = *s;
        } else {
          in_.error(*n, fmt::format("{}.require_rehearsal: missing key 'in' (the environment "
                                    "rehearsals run in)",
                                    what));
        }
        if (auto* age = n->find("max_age")) {
          if (auto d = in_.duration(*age, what + ".require_rehearsal.max_age")) rule.max_age = *d;
        }
        env.require_rehearsal = rule;
      }
    }
    if (auto* n = node.find("recorders")) {
      if (auto s = in_.string(*n, what + ".recorders")) {
        env.recorders = expand_path(*s, project_.dir);
        if (!fs::is_regular_file(*env.recorders)) {
          in_.error(*n, fmt::format("{}.recorders: no such file: {} (an allowed_signers file of "
                                    "who may record changes)",
                                    what, *env.recorders));
        }
      }
    }
    if (auto* n = node.find("hotfix_requires_rehearsal")) {
      if (auto b = in_.boolean(*n, what + ".hotfix_requires_rehearsal")) {
        env.hotfix_requires_rehearsal = *b;
      }
    }
    if (auto* n = node.find("follows")) read_follows(in_, *n, what + ".follows", env);
    if (auto* n = node.find("require_soak"))
      read_require_soak(in_, *n, what + ".require_soak", env);
    if (auto* n = node.find("load_test"))
      env.load_test = read_load_test(in_, *n, what + ".load_test");
    if (auto* n = node.find("freeze")) {
      if (n->is_sequence()) {
        for (const auto& item : n->items) read_freeze(*item, what + ".freeze", env);
      } else {
        in_.error(*n, fmt::format("{}.freeze: expected a list of windows", what));
      }
    }
    project_.environments.push_back(std::move(env));
  }

  // {from: ISO-8601, to: ISO-8601, reason} or {weekly: "Fri 18:00-Mon 09:00", tz, reason}.
  void read_freeze(const YamlNode& node, const std::string& what, Environment& env) {
    if (!in_.check_mapping(node, what, kFreezeKeys)) return;
    FreezeWindow window;
    window.mark = node.mark;
    if (auto* n = node.find("tz")) {
      if (auto s = in_.string(*n, what + ".tz")) {
        if (!valid_time_zone(*s)) {
          in_.error(*n, fmt::format("{}.tz: unknown time zone '{}' (an IANA name like "
                                    "Asia/Seoul)",
                                    what, *s));
          return;
        }
        window.tz = *s;
      }
    }
    if (auto* n = node.find("reason")) {
      if (auto s = in_.string(*n, what + ".reason")) window.reason = *s;
    }
    const YamlNode* weekly = node.find("weekly");
    const YamlNode* from = node.find("from");
    const YamlNode* to = node.find("to");
    if (weekly != nullptr && (from != nullptr || to != nullptr)) {
      in_.error(node, fmt::format("{}: a window is weekly or from/to, not both", what));
      return;
    }
    if (weekly != nullptr) {
      auto s = in_.string(*weekly, what + ".weekly");
      if (!s) return;
      static const std::regex re(
          R"((Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d{1,2}):(\d{2}) *- *(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\d{1,2}):(\d{2}))");
      static const std::vector<std::string> days = {"Mon", "Tue", "Wed", "Thu",
                                                    "Fri", "Sat", "Sun"};
      std::smatch m;
      auto minute_of = [&](int day, int at) {
        int hour = std::stoi(m[static_cast<std::size_t>(at)]);
        int minute = std::stoi(m[static_cast<std::size_t>(at + 1)]);
        if (hour > 23 || minute > 59) return -1;
        int index = static_cast<int>(
            std::find(days.begin(), days.end(), m[static_cast<std::size_t>(day)].str()) -
            days.begin());
        return index * 1440 + hour * 60 + minute;
      };
      if (!std::regex_match(*s, m, re) || minute_of(1, 2) < 0 || minute_of(4, 5) < 0 ||
          minute_of(1, 2) == minute_of(4, 5)) {
        in_.error(*weekly, fmt::format("{}.weekly: expected like \"Fri 18:00-Mon 09:00\"", what));
        return;
      }
      window.kind = FreezeWindow::Kind::kWeekly;
      window.start_minute = minute_of(1, 2);
      window.end_minute = minute_of(4, 5);
      window.text = fmt::format("weekly {} ({})", *s, window.tz);
    } else if (from != nullptr && to != nullptr) {
      auto a = in_.string(*from, what + ".from");
      auto b = in_.string(*to, what + ".to");
      if (!a || !b) return;
      auto start = parse_iso8601(*a, window.tz);
      auto end = parse_iso8601(*b, window.tz);
      if (!start)
        in_.error(*from,
                  fmt::format("{}.from: expected ISO-8601 like 2026-12-24T18:00:00+09:00", what));
      if (!end)
        in_.error(*to,
                  fmt::format("{}.to: expected ISO-8601 like 2026-12-26T09:00:00+09:00", what));
      if (!start || !end) return;
      if (*end <= *start) {
        in_.error(*to, fmt::format("{}.to: the window ends before it starts", what));
        return;
      }
      window.from = *start;
      window.to = *end;
      window.text = fmt::format("{} to {}", *a, *b);
    } else {
      in_.error(node, fmt::format("{}: expected 'from' and 'to', or 'weekly'", what));
      return;
    }
    env.freeze.push_back(std::move(window));
  }

 private:
  ConfigReader& in_;
  Project& project_;
};

}  // namespace

void read_environment(ConfigReader& in, Project& project, const YamlNode& key,
                      const YamlNode& node) {
  EnvironmentReader(in, project).read_environment(key, node);
}

}  // namespace flotilla
