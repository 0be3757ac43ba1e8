#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/duration.hpp"
#include "core/source_mark.hpp"

namespace flotilla {

// The pipeline's keys (INT -> LOADTEST -> PROD): which environment takes
// whose state, what a load test must show, how long a release soaks
// before production takes it, and when the timed steps run.

// `follows: {env, when}`: `sync` brings this environment to what `env`'s
// newest qualifying change left on its hosts.
struct FollowRule {
  std::string env;
  enum class When { kSucceeded, kVerified };  // verified: its analysis passed
  When when = When::kSucceeded;
  SourceMark mark;
};

// `load_test: {command, max_p99, min_rps, duration, max_errors}`: a command
// run from the controller once a change is in; it prints wrk's --latency
// report or a JSON line {"p99_ms", "rps", "errors"}.
struct LoadTestSpec {
  std::string command;
  std::optional<Duration> max_p99;
  std::optional<double> min_rps;
  std::optional<long> max_errors;  // absent: errors are recorded, not judged
  Duration duration = std::chrono::seconds(60);
  SourceMark mark;
};

// `require_soak: {in, min, load_test: passed}`: a change here needs its
// exact artifacts and config to have run in `in` for `min`, untouched,
// and (when asked) a passed load test on them there.
struct SoakRule {
  std::string in;
  Duration min = std::chrono::hours(24);
  bool load_test_passed = false;
  SourceMark mark;
};

// When a timed step runs: "daily 04:00 Asia/Seoul", "weekdays 04:00 UTC",
// "Mon,Thu 22:30 Europe/Berlin", "hourly" (at minute 0, or "hourly :15").
struct ScheduleTime {
  enum class Every { kHour, kDays };
  Every every = Every::kDays;
  std::vector<int> weekdays;  // 0 = Monday; empty = every day
  int hour = 0;
  int minute = 0;
  std::string tz = "UTC";
};

// One `schedule:` entry: `flotilla -e ENV RUN` at `at`.
struct ScheduleEntry {
  std::string env;
  std::string run;  // the step: "sync"
  std::string at;   // as written
  ScheduleTime time;
  SourceMark mark;
};

const char* follow_when_name(FollowRule::When when);

}  // namespace flotilla
