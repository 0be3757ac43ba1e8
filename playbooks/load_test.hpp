#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "playbooks/pipeline_spec.hpp"

namespace flotilla {

// What a load test reported: wrk's --latency report, or a JSON line
// {"p99_ms": ..., "rps": ..., "errors": ...} from any other tool.
struct LoadTestFigures {
  std::optional<double> p99_ms;
  std::optional<double> rps;
  long errors = 0;
  std::string format;  // "wrk" or "json"
};

// The figures in a load test's output; nullopt when it has neither a
// wrk report nor a JSON line with p99_ms or rps (the last such line counts).
std::optional<LoadTestFigures> parse_load_test_output(const std::string& output);

// A load test, run and judged.
struct LoadTestResult {
  std::string command;
  std::string duration;  // as run: "60s"
  std::optional<LoadTestFigures> figures;
  bool passed = false;
  std::vector<std::string> failures;  // "p99 310 ms > 250 ms", "exit status 1"
  std::string started, finished;      // ISO-8601 UTC
  std::string log;                    // the command's output, kept in the state dir

  nlohmann::json to_json() const;
  static LoadTestResult from_json(const nlohmann::json& doc);
  // "passed: p99 12.3 ms (max 250 ms), 5012 rps (min 500), 0 errors"
  std::string describe() const;
};

// Measures `figures` against the spec's limits: each limit missed (or a
// figure the limit needs that the tool did not print) is one failure.
std::vector<std::string> judge_load_test(const LoadTestSpec& spec, const LoadTestFigures& figures);

// Runs the spec's command from the controller (`/bin/sh -c`, in `dir`),
// `{{duration}}` replaced and FLOTILLA_ENVIRONMENT, FLOTILLA_UNITS and
// FLOTILLA_DURATION set, output to `log_path`, killed after the duration
// plus two minutes. A command that fails or prints no figures fails.
LoadTestResult run_load_test(const LoadTestSpec& spec, const std::string& environment,
                             const std::string& units, const std::string& dir,
                             const std::string& log_path);

}  // namespace flotilla
