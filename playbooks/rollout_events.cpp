#include "playbooks/rollout_events.hpp"

#include "playbooks/host_commands.hpp"
#include "playbooks/rollout.hpp"

namespace flotilla {

namespace {

// The last lines a failed host command wrote on stderr (its phase lines
// left out): what the text view shows, so that a CI job reading --json
// learns why too (a failing health check's own output, for one).
nlohmann::json failure_output(const Result<CommandResult>& r) {
  constexpr std::size_t kLines = 5;
  std::vector<std::string> lines;
  if (!r) return lines;
  std::size_t start = 0;
  while (start < r->err.size()) {
    std::size_t end = r->err.find('\n', start);
    if (end == std::string::npos) end = r->err.size();
    std::string line = r->err.substr(start, end - start);
    if (!line.empty() && line.rfind(kPhaseMarker, 0) != 0) lines.push_back(std::move(line));
    start = end + 1;
  }
  if (lines.size() > kLines) lines.erase(lines.begin(), lines.end() - kLines);
  return lines;
}

}  // namespace

void RolloutEvents::host_push(const std::string& host, std::size_t files, std::size_t bytes,
                              bool from_registry) {
  reporter_.event("host_push", {{"host", host},
                                {"files", files},
                                {"bytes", bytes},
                                {"from", from_registry ? "registry" : "controller"}});
}

void RolloutEvents::host_started(const std::string& host, std::size_t batch, bool restart) {
  reporter_.event("host_started", {{"host", host}, {"batch", batch + 1}, {"restart", restart}});
}

void RolloutEvents::host_done(const std::string& host, bool ok, const std::string& detail,
                              const Result<CommandResult>* output) {
  nlohmann::json event = {{"host", host}, {"ok", ok}, {"detail", detail}};
  if (!ok && output != nullptr) event["output"] = failure_output(*output);
  reporter_.event("host_done", event);
}

void RolloutEvents::batch_done(std::size_t index, std::size_t failed) {
  reporter_.event("batch_done", {{"batch", index + 1}, {"failed", failed}});
}

void RolloutEvents::host_rolled_back(const std::string& host, bool ok,
                                     const Result<CommandResult>& output) {
  nlohmann::json event = {{"host", host}, {"ok", ok}};
  if (!ok) event["output"] = failure_output(output);
  reporter_.event("host_rolled_back", event);
}

void RolloutEvents::balancer(const BalancerStep& step) {
  nlohmann::json event = {
      {"host", step.host}, {"balancer", step.balancer}, {"action", step.action}};
  if (step.sessions >= 0) event["sessions"] = step.sessions;
  if (step.weight >= 0) event["weight"] = step.weight;
  if (!step.status.empty()) event["status"] = step.status;
  reporter_.event("balancer", event);
}

void RolloutEvents::analysis(const AnalysisMeasurement& measurement) {
  reporter_.event("analysis", measurement.to_json());
}

void RolloutEvents::analysis_verdict(const AnalysisVerdict& verdict) {
  reporter_.event("analysis_verdict", verdict.to_json());
}

void RolloutEvents::rollout_done(const RolloutResult& result) {
  reporter_.event("deploy_done", {{"ok", result.ok},
                                  {"kind", kind_},
                                  {"snapshot", snapshot_},
                                  {"artifact", artifact_},
                                  {"interrupted", result.interrupted},
                                  {"summary", result.summary}});
}

}  // namespace flotilla
