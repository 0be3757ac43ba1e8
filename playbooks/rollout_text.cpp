#include "playbooks/rollout_text.hpp"

#include <fmt/format.h>

#include "playbooks/host_commands.hpp"

namespace flotilla {

void RolloutText::push_started(std::size_t hosts, const std::vector<PushProgress::Host>& watched) {
  reporter_.progress(fmt::format("pushing to {} host(s)", hosts));
  // The bundles are what takes time: those are the bytes the view follows.
  if (!watched.empty()) progress_.emplace(reporter_, watched);
}

void RolloutText::push_finished() {
  if (progress_) progress_->finish();
  progress_.reset();
}

void RolloutText::batch_started(std::size_t index, std::size_t of, const Batch& batch) {
  reporter_.progress(fmt::format("batch {}/{}{}: {}", index + 1, of,
                                 batch.canary ? " (canary)" : "", fmt::join(batch.hosts, " ")));
}

void RolloutText::host_done(const std::string& host, bool /*ok*/, const std::string& /*detail*/,
                            const Result<CommandResult>* output) {
  if (output != nullptr) show_output(host, *output);
}

void RolloutText::host_rolled_back(const std::string& host, bool /*ok*/,
                                   const Result<CommandResult>& output) {
  show_output(host, output);
}

void RolloutText::baking(Duration bake) {
  reporter_.progress(fmt::format("canary healthy; baking {}", format_duration(bake)));
}

void RolloutText::balancer(const BalancerStep& step) {
  std::string detail = step.sessions >= 0     ? fmt::format(" ({} session(s) left)", step.sessions)
                       : step.weight >= 0     ? fmt::format(" {}", step.weight)
                       : !step.status.empty() ? " " + step.status
                                              : "";
  reporter_.progress(fmt::format("{}: {} on {}{}", step.host, step.action, step.balancer, detail));
}

// Failed and inconclusive readings always; passing ones with -v.
void RolloutText::analysis(const AnalysisMeasurement& m) {
  if (m.verdict == "passed" && reporter_.verbosity() == 0) return;
  reporter_.progress(fmt::format("analysis {} round {}: {}: {}", m.step, m.round,
                                 describe_measurement(m), m.verdict));
}

void RolloutText::analysis_verdict(const AnalysisVerdict& v) {
  std::string line =
      fmt::format("analysis {}: {} ({}): {}", v.step, v.verdict, v.action, v.summary);
  if (!v.by.empty()) line += " — by " + v.by;
  if (v.action == "paused") {
    reporter_.warning("PAUSED: " + line);
  } else if (v.verdict == "passed" || v.action.starts_with("continue")) {
    reporter_.progress(line);
  } else {
    reporter_.warning(line);
  }
}

// -v: everything a host printed during a step, line by line.
void RolloutText::show_output(const std::string& host, const Result<CommandResult>& r) {
  if (reporter_.verbosity() == 0 || !r) return;
  for (const std::string* text : {&r->out, &r->err}) {
    std::size_t start = 0;
    while (start < text->size()) {
      std::size_t end = text->find('\n', start);
      if (end == std::string::npos) end = text->size();
      std::string_view line = std::string_view(*text).substr(start, end - start);
      if (line.rfind(kPhaseMarker, 0) != 0) reporter_.verbose(fmt::format("{}: {}", host, line));
      start = end + 1;
    }
  }
}

}  // namespace flotilla
