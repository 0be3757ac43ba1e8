#include "playbooks/pipeline_reader.hpp"

#include <set>

#include <fmt/format.h>

#include "playbooks/schedule_time.hpp"

namespace flotilla {
namespace {

const std::vector<std::string> kFollowKeys = {"env", "when"};
const std::vector<std::string> kLoadTestKeys = {"command", "max_p99", "min_rps", "duration",
                                                "max_errors"};
const std::vector<std::string> kSoakKeys = {"in", "min", "load_test"};
const std::vector<std::string> kScheduleKeys = {"env", "run", "at"};
const std::vector<std::string> kScheduledSteps = {"sync"};

std::optional<std::string> required_string(ConfigReader& in, const YamlNode& node,
                                           const std::string& what, const char* key,
                                           const char* meaning) {
  const YamlNode* n = node.find(key);
  if (n == nullptr) {
    in.error(node, fmt::format("{}: missing key '{}' ({})", what, key, meaning));
    return std::nullopt;
  }
  return in.string(*n, what + "." + key);
}

}  // namespace

void read_follows(ConfigReader& in, const YamlNode& node, const std::string& what,
                  Environment& env) {
  if (!in.check_mapping(node, what, kFollowKeys)) return;
  FollowRule rule;
  rule.mark = node.mark;
  if (auto s = required_string(in, node, what, "env", "the environment it takes its state from")) {
    rule.env = *s;
    rule.mark = node.find("env")->mark;
  }
  if (auto* n = node.find("when")) {
    if (auto s = in.string(*n, what + ".when")) {
      if (*s == "succeeded") {
        rule.when = FollowRule::When::kSucceeded;
      } else if (*s == "verified") {
        rule.when = FollowRule::When::kVerified;
      } else {
        in.error(*n, fmt::format("{}.when: expected 'succeeded' or 'verified' (its analysis "
                                 "passed), found '{}'",
                                 what, *s));
      }
    }
  }
  env.follows = rule;
}

void read_require_soak(ConfigReader& in, const YamlNode& node, const std::string& what,
                       Environment& env) {
  if (!in.check_mapping(node, what, kSoakKeys)) return;
  SoakRule rule;
  rule.mark = node.mark;
  if (auto s = required_string(in, node, what, "in", "the environment releases soak in")) {
    rule.in = *s;
    rule.mark = node.find("in")->mark;
  }
  if (auto* n = node.find("min")) {
    if (auto d = in.duration(*n, what + ".min")) rule.min = *d;
  } else {
    in.error(node, fmt::format("{}: missing key 'min' (how long, like 24h)", what));
  }
  if (auto* n = node.find("load_test")) {
    if (auto s = in.string(*n, what + ".load_test")) {
      if (*s == "passed") {
        rule.load_test_passed = true;
      } else {
        in.error(*n, fmt::format("{}.load_test: expected 'passed', found '{}'", what, *s));
      }
    }
  }
  env.require_soak = rule;
}

std::optional<LoadTestSpec> read_load_test(ConfigReader& in, const YamlNode& node,
                                           const std::string& what) {
  if (!in.check_mapping(node, what, kLoadTestKeys)) return std::nullopt;
  LoadTestSpec spec;
  spec.mark = node.mark;
  if (auto s = required_string(in, node, what, "command", "what runs the load, from here")) {
    spec.command = *s;
  }
  if (auto* n = node.find("max_p99")) {
    if (auto d = in.duration(*n, what + ".max_p99")) spec.max_p99 = *d;
  }
  if (auto* n = node.find("min_rps")) {
    if (auto rps = in.non_negative(*n, what + ".min_rps", "requests per second")) {
      spec.min_rps = *rps;
    }
  }
  if (auto* n = node.find("max_errors")) {
    if (auto v = in.integer(*n, what + ".max_errors", 0, 1000000000)) spec.max_errors = *v;
  }
  if (auto* n = node.find("duration")) {
    if (auto d = in.duration(*n, what + ".duration")) {
      if (d->count() < 1000) {
        in.error(*n, fmt::format("{}.duration: at least 1s", what));
      } else {
        spec.duration = *d;
      }
    }
  }
  return spec;
}

void read_schedule(ConfigReader& in, const YamlNode& node, Project& project) {
  if (!node.is_sequence()) {
    in.error(node, "schedule: expected a list of {env, run, at}");
    return;
  }
  for (std::size_t i = 0; i < node.items.size(); ++i) {
    const YamlNode& item = *node.items[i];
    std::string what = fmt::format("schedule[{}]", i);
    if (!in.check_mapping(item, what, kScheduleKeys)) continue;
    ScheduleEntry entry;
    entry.mark = item.mark;
    auto env = required_string(in, item, what, "env", "the environment the step changes");
    auto run = required_string(in, item, what, "run", "the step: sync");
    auto at = required_string(in, item, what, "at", "when, like \"daily 04:00 Asia/Seoul\"");
    if (!env || !run || !at) continue;
    entry.env = *env;
    entry.run = *run;
    entry.at = *at;
    if (std::find(kScheduledSteps.begin(), kScheduledSteps.end(), *run) == kScheduledSteps.end()) {
      in.error(*item.find("run"),
               fmt::format("{}.run: '{}' is not a step flotilla schedules (expected: {})", what,
                           *run, fmt::join(kScheduledSteps, ", ")));
      continue;
    }
    std::string why;
    auto time = parse_schedule_time(*at, why);
    if (!time) {
      in.error(*item.find("at"), fmt::format("{}.at: {}", what, why));
      continue;
    }
    entry.time = *time;
    project.schedule.push_back(std::move(entry));
  }
}

void check_pipeline(ConfigReader& in, const Project& project) {
  for (const auto& env : project.environments) {
    std::string what = "environments." + env.name;
    if (env.follows) {
      if (env.follows->env == env.name) {
        in.error(env.follows->mark, fmt::format("{}.follows.env: an environment cannot follow "
                                                "itself",
                                                what));
      } else if (project.environment(env.follows->env) == nullptr) {
        in.error(env.follows->mark,
                 fmt::format("{}.follows.env: unknown environment '{}'", what, env.follows->env));
      } else {
        // follows may chain (loadtest follows int, perf follows loadtest), never loop.
        std::set<std::string> seen{env.name};
        const Environment* at = project.environment(env.follows->env);
        while (at != nullptr && at->follows) {
          if (!seen.insert(at->name).second) {
            in.error(
                env.follows->mark,
                fmt::format("{}.follows: the environments follow one another in a circle", what));
            break;
          }
          at = project.environment(at->follows->env);
        }
      }
    }
    if (env.require_soak) {
      if (env.require_soak->in == env.name) {
        in.error(env.require_soak->mark,
                 fmt::format("{}.require_soak.in: a release cannot soak where it is going", what));
      } else if (project.environment(env.require_soak->in) == nullptr) {
        in.error(env.require_soak->mark, fmt::format("{}.require_soak.in: unknown environment '{}'",
                                                     what, env.require_soak->in));
      }
    }
  }
  for (std::size_t i = 0; i < project.schedule.size(); ++i) {
    const ScheduleEntry& entry = project.schedule[i];
    const Environment* env = project.environment(entry.env);
    if (env == nullptr) {
      in.error(entry.mark, fmt::format("schedule[{}].env: unknown environment '{}'", i, entry.env));
    } else if (entry.run == "sync" && !env->follows) {
      in.error(entry.mark, fmt::format("schedule[{}]: sync needs environments.{}.follows (what it "
                                       "syncs from)",
                                       i, entry.env));
    }
  }
}

const char* follow_when_name(FollowRule::When when) {
  return when == FollowRule::When::kVerified ? "verified" : "succeeded";
}

}  // namespace flotilla
