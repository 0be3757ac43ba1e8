#include "playbooks/load_test.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

#include <fmt/format.h>

#include "core/build_runner.hpp"
#include "core/duration.hpp"
#include "core/trim.hpp"

namespace flotilla {
namespace {

// wrk prints latencies as "12.34ms", "1.02s", "850.00us".
std::optional<double> wrk_milliseconds(const std::string& number, const std::string& unit) {
  double value = std::strtod(number.c_str(), nullptr);
  if (unit == "us") return value / 1000.0;
  if (unit == "ms") return value;
  if (unit == "s") return value * 1000.0;
  if (unit == "m") return value * 60000.0;
  return std::nullopt;
}

std::optional<LoadTestFigures> parse_wrk(const std::string& output) {
  static const std::regex p99(R"(^\s*99(?:\.0+)?%\s+([0-9.]+)(us|ms|s|m)\s*$)");
  static const std::regex rps(R"(^\s*Requests/sec:\s+([0-9.]+)\s*$)");
  static const std::regex non2xx(R"(^\s*Non-2xx or 3xx responses:\s+(\d+)\s*$)");
  static const std::regex socket(
      R"(^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$)");
  LoadTestFigures figures;
  figures.format = "wrk";
  bool latency_section = false;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.find("Latency Distribution") != std::string::npos) latency_section = true;
    if (latency_section && std::regex_match(line, m, p99)) {
      figures.p99_ms = wrk_milliseconds(m[1], m[2]);
    } else if (std::regex_match(line, m, rps)) {
      figures.rps = std::strtod(m[1].str().c_str(), nullptr);
    } else if (std::regex_match(line, m, non2xx)) {
      figures.errors += std::stol(m[1]);
    } else if (std::regex_match(line, m, socket)) {
      // A read error is wrk's count of connections the server closed; the
      // others are requests that never got an answer.
      for (int i = 1; i <= 4; ++i) figures.errors += std::stol(m[static_cast<std::size_t>(i)]);
    }
  }
  if (!figures.rps) return std::nullopt;
  return figures;
}

std::optional<double> finite_number(const nlohmann::json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || !it->is_number()) return std::nullopt;
  double value = it->get<double>();
  if (!std::isfinite(value) || value < 0) return std::nullopt;
  return value;
}

std::optional<LoadTestFigures> parse_json_line(const std::string& output) {
  std::optional<LoadTestFigures> found;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    std::string text = trim(line);
    if (text.empty() || text.front() != '{') continue;
    auto doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_object()) continue;
    LoadTestFigures figures;
    figures.format = "json";
    figures.p99_ms = finite_number(doc, "p99_ms");
    figures.rps = finite_number(doc, "rps");
    if (auto errors = finite_number(doc, "errors")) figures.errors = std::lround(*errors);
    if (figures.p99_ms || figures.rps) found = figures;
  }
  return found;
}

std::string number(double value) {
  return std::fabs(value - std::round(value)) < 0.05 ? fmt::format("{:.0f}", value)
                                                     : fmt::format("{:.1f}", value);
}

// What the command printed (its last MiB: a chatty tool's report is at the end).
std::string read_output(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  constexpr std::size_t kMax = 1 << 20;
  return text.size() > kMax ? text.substr(text.size() - kMax) : text;
}

}  // namespace

std::optional<LoadTestFigures> parse_load_test_output(const std::string& output) {
  if (auto json = parse_json_line(output)) return json;
  return parse_wrk(output);
}

std::vector<std::string> judge_load_test(const LoadTestSpec& spec, const LoadTestFigures& figures) {
  std::vector<std::string> failures;
  if (spec.max_p99) {
    double limit = static_cast<double>(spec.max_p99->count());
    if (!figures.p99_ms) {
      failures.push_back("no p99 in its output (wrk needs --latency)");
    } else if (*figures.p99_ms > limit) {
      failures.push_back(fmt::format("p99 {} ms > {} ms", number(*figures.p99_ms), number(limit)));
    }
  }
  if (spec.min_rps) {
    if (!figures.rps) {
      failures.push_back("no requests per second in its output");
    } else if (*figures.rps < *spec.min_rps) {
      failures.push_back(
          fmt::format("{} requests/s < {}", number(*figures.rps), number(*spec.min_rps)));
    }
  }
  if (spec.max_errors && figures.errors > *spec.max_errors) {
    failures.push_back(fmt::format("{} errors > {}", figures.errors, *spec.max_errors));
  }
  return failures;
}

LoadTestResult run_load_test(const LoadTestSpec& spec, const std::string& environment,
                             const std::string& units, const std::string& dir,
                             const std::string& log_path) {
  LoadTestResult result;
  result.duration = format_duration(spec.duration);
  // The record shows the command as it ran, with its duration in it.
  std::string command = spec.command;
  for (std::size_t at; (at = command.find("{{duration}}")) != std::string::npos;) {
    command.replace(at, 12, result.duration);
  }
  result.command = command;
  std::map<std::string, std::string> env = {{"FLOTILLA_ENVIRONMENT", environment},
                                            {"FLOTILLA_UNITS", units},
                                            {"FLOTILLA_DURATION", result.duration}};
  for (const char* name : {"PATH", "HOME", "USER", "LANG"}) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }
  result.started = iso_time_now();
  result.log = log_path;
  auto run = run_build(command, dir, env, log_path, spec.duration + std::chrono::minutes(2));
  result.finished = iso_time_now();
  if (!run) {
    result.failures.push_back(run.error().message);
    return result;
  }
  std::string output = read_output(log_path);
  result.figures = parse_load_test_output(output);
  if (run->exit_status != 0) {
    result.failures.push_back(fmt::format("the command exited with status {}", run->exit_status));
  }
  if (!result.figures) {
    result.failures.push_back("its output has no wrk report and no JSON line with p99_ms or rps");
  } else {
    auto judged = judge_load_test(spec, *result.figures);
    result.failures.insert(result.failures.end(), judged.begin(), judged.end());
  }
  result.passed = result.failures.empty();
  return result;
}

nlohmann::json LoadTestResult::to_json() const {
  nlohmann::json doc = {{"command", command},   {"duration", duration}, {"passed", passed},
                        {"failures", failures}, {"started", started},   {"finished", finished}};
  if (figures) {
    doc["format"] = figures->format;
    doc["errors"] = figures->errors;
    if (figures->p99_ms) doc["p99_ms"] = *figures->p99_ms;
    if (figures->rps) doc["rps"] = *figures->rps;
  }
  return doc;
}

LoadTestResult LoadTestResult::from_json(const nlohmann::json& doc) {
  LoadTestResult out;
  if (!doc.is_object()) return out;
  out.command = doc.value("command", "");
  out.duration = doc.value("duration", "");
  out.passed = doc.value("passed", false);
  out.started = doc.value("started", "");
  out.finished = doc.value("finished", "");
  if (auto it = doc.find("failures"); it != doc.end() && it->is_array()) {
    for (const auto& f : *it) {
      if (f.is_string()) out.failures.push_back(f.get<std::string>());
    }
  }
  if (doc.contains("format")) {
    LoadTestFigures figures;
    figures.format = doc.value("format", "");
    figures.errors = doc.value("errors", 0L);
    figures.p99_ms = finite_number(doc, "p99_ms");
    figures.rps = finite_number(doc, "rps");
    out.figures = figures;
  }
  return out;
}

std::string LoadTestResult::describe() const {
  std::vector<std::string> parts;
  if (figures) {
    if (figures->p99_ms) parts.push_back(fmt::format("p99 {} ms", number(*figures->p99_ms)));
    if (figures->rps) parts.push_back(fmt::format("{} requests/s", number(*figures->rps)));
    parts.push_back(fmt::format("{} errors", figures->errors));
  }
  std::string head = passed ? "passed" : "FAILED";
  if (!failures.empty()) head += fmt::format(" ({})", fmt::join(failures, "; "));
  return parts.empty() ? head : fmt::format("{}: {}", head, fmt::join(parts, ", "));
}

}  // namespace flotilla
