#include "playbooks/change/change_watch.hpp"

#include <fmt/format.h>

#include "playbooks/analysis_result.hpp"
#include "playbooks/change/release_undo.hpp"
#include "playbooks/change/unit_analysis.hpp"
#include "playbooks/promql_template.hpp"

namespace flotilla {
namespace {

constexpr Duration kBoardPoll = std::chrono::seconds(2);

// How the watch ended.
struct WatchEnd {
  enum class Why { kQuiet, kFired, kEndedBy, kInterrupted } why = Why::kQuiet;
  std::string by;     // kEndedBy: who
  PromSample firing;  // kFired: the first series the alert returned
};

std::string alert_name(const PromSample& sample) {
  auto it = sample.labels.find("alertname");
  return it != sample.labels.end() && !it->second.empty() ? it->second : "alert";
}

std::string describe_series(const PromSample& sample) {
  std::vector<std::string> labels;
  for (const auto& [k, v] : sample.labels) labels.push_back(fmt::format("{}=\"{}\"", k, v));
  return fmt::format("{{{}}}", fmt::join(labels, ","));
}

void verdict_event(Reporter& reporter, AnalysisVerdict verdict) {
  verdict.step = "watch";
  reporter.event("analysis_verdict", verdict.to_json());
}

}  // namespace

bool will_watch(const ChangeContext& context, const UnitRun& run) {
  const Unit* unit = context.targets.project->unit(run.unit);
  return unit && unit->watch && unit->analysis && run.changed &&
         rules_of(run.snapshot.kind).judged_by_analysis;
}

Outcome watch_after_change(const ChangeContext& context, DeployLock& lock, RolloutBoard& board,
                           const UnitRun& run, long release_id, long& highest, PhaseTimes& times) {
  if (!will_watch(context, run)) return Outcome();
  const Unit* unit = context.targets.project->unit(run.unit);
  Reporter& reporter = context.reporter;
  Clock& clock = *context.clock;
  const WatchSpec& watch = *unit->watch;
  const std::string& env = context.targets.environment->name;
  auto query =
      render_promql(watch.alert, {{"unit", unit->name}, {"environment", env}, {"host", ""}});
  if (!query) {
    reporter.error("watch.alert: " + query.error().message);
    return Outcome(ErrorKind::kBadInput);
  }
  auto source = metrics_source_for(context, *unit->analysis);
  if (auto posted = board.post(unit->name, "watching"); !posted) {
    reporter.warning(
        fmt::format("watch: {}; a rollback elsewhere cannot end this watch, Ctrl-C "
                    "here can",
                    posted.error().message));
  }
  reporter.event("watch", {{"unit", unit->name},
                           {"state", "started"},
                           {"for", format_duration(watch.for_)},
                           {"alert", *query}});
  reporter.progress(
      fmt::format("{}: watching {} for {} (`flotilla rollback {} {}` from any "
                  "controller ends the watch)",
                  unit->name, *query, format_duration(watch.for_), env, unit->name));
  const auto started = clock.now();
  const auto deadline = started + watch.for_;
  auto next_query = started + unit->analysis->interval;
  WatchEnd end;
  bool warned = false;
  while (clock.now() < deadline) {
    if (context.interrupted()) {
      end.why = WatchEnd::Why::kInterrupted;
      break;
    }
    clock.sleep_for(std::min<Duration>(
        kBoardPoll, std::chrono::duration_cast<Duration>(deadline - clock.now())));
    if (auto said = board.read(); said && *said && (*said)->word == "end-watch") {
      end = {WatchEnd::Why::kEndedBy, (*said)->by, {}};
      break;
    }
    if (clock.now() < next_query) continue;
    next_query = clock.now() + unit->analysis->interval;
    auto answer = source->query(*query);
    if (!answer) {
      if (!warned) reporter.warning("watch: " + answer.error().message + " (still watching)");
      warned = true;
      continue;
    }
    if (!answer->empty()) {
      end.why = WatchEnd::Why::kFired;
      end.firing = answer->front();
      break;
    }
  }
  (void)board.clear();
  times.add(run.unit + " watch", std::chrono::duration<double>(clock.now() - started).count());
  AnalysisVerdict verdict;
  verdict.time = iso_time(clock.wall_seconds());
  switch (end.why) {
    case WatchEnd::Why::kQuiet:
      verdict_event(reporter, {"", "passed", "done", 0, 0, 0,
                               fmt::format("no alert fired in {}", format_duration(watch.for_)), "",
                               verdict.time});
      reporter.text(fmt::format("{}: watch done, no alert fired in {}", unit->name,
                                format_duration(watch.for_)));
      return Outcome();
    case WatchEnd::Why::kInterrupted:
      reporter.warning(fmt::format("{}: watch interrupted; the change stays", unit->name));
      return Outcome();
    case WatchEnd::Why::kEndedBy:
      verdict_event(reporter, {"", "ended", "ended", 0, 0, 0, "a rollback was asked for", end.by,
                               verdict.time});
      reporter.progress(
          fmt::format("{}: watch ended by {} (a rollback waits for the lock)", unit->name, end.by));
      return Outcome();
    case WatchEnd::Why::kFired:
      break;
  }
  const std::string name = alert_name(end.firing);
  verdict.step = "watch";
  verdict.verdict = "failed";
  verdict.action = "roll back";
  verdict.failed = 1;
  verdict.summary =
      fmt::format("{}{} fired {} after snapshot {}", name, describe_series(end.firing),
                  format_duration(std::chrono::duration_cast<Duration>(clock.now() - started)),
                  run.snapshot.id);
  reporter.event("analysis_verdict", verdict.to_json());
  reporter.error(
      fmt::format("{}: watch: {}; rolling the change back", unit->name, verdict.summary));
  ChangeRequest back;
  back.unit = unit->name;
  back.ticket = run.snapshot.ticket;
  back.cause = "watch:" + name;
  nlohmann::json step = verdict.to_json();
  step["alert"] = *query;
  back.evidence = nlohmann::json::array({step});
  send_unit_back(context, lock, back, run.snapshot.id, release_id, highest, times,
                 "watch " + unit->name + ": ");
  return Outcome(ErrorKind::kFailed);
}

}  // namespace flotilla
